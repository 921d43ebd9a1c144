/* buf.c - growable byte buffer (see buf.h). */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"

/* vr_buf_append - append n bytes within limit */
int vr_buf_append(struct vr_buf *b, const void *p, size_t n, size_t limit)
{
	if (n > limit || b->len > limit - n)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		VR_CHECK_ALLOC(b->data);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* vr_buf_free - release and reset */
void vr_buf_free(struct vr_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
