/* buf.h - a growable byte buffer (always NUL-terminated) with a hard size cap.
 *
 * The buffer owns its memory; vr_buf_free() releases it. Allocation failure aborts.
 */
#ifndef VR_BUF_H
#define VR_BUF_H

#include <stddef.h>

struct vr_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* vr_buf_append - append n bytes; -1 (and nothing appended) when len would exceed limit */
int vr_buf_append(struct vr_buf *b, const void *p, size_t n, size_t limit);
/* vr_buf_free - release the buffer's memory and reset it */
void vr_buf_free(struct vr_buf *b);

#endif
