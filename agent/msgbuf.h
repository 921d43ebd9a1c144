/* msgbuf.h - one raw message as the milter rebuilds it: in memory while small, then in an
 * anonymous file.
 *
 * Bytes are appended in memory up to mem_max; the append that would pass it moves
 * everything into a file created in spool_dir with O_TMPFILE (or mkstemp + unlink when the
 * file system lacks it), so that no name is ever left behind, not even after a crash. The
 * scanners then read the file (clamd_scan_fd, rspamd_check_fd, mime_scan_fd: pread from 0)
 * and the quarantine upload streams it. A hard cap (max, 0: none) refuses any append that
 * would make the message longer.
 *
 * Ownership: the buffer owns its memory and descriptor (msgbuf_free). Not thread-safe: one
 * message is built by one milter session at a time.
 */
#ifndef VR_AGENT_MSGBUF_H
#define VR_AGENT_MSGBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define MSGBUF_MEM_MAX (1u << 20) /* bytes kept in memory before spilling to a file */

enum msgbuf_status { MSGBUF_OK, MSGBUF_TOO_BIG, MSGBUF_IO };

struct msgbuf {
	const char *spool_dir; /* borrowed */
	size_t mem_max, max;   /* max 0: no cap */
	struct vr_buf mem;     /* while fd < 0 */
	int fd;                /* the spill file, or -1 */
	size_t len;            /* bytes in the message */
	int err;               /* errno of the first I/O failure */
};

/* msgbuf_init - an empty buffer spilling into spool_dir (borrowed) past mem_max bytes,
 * refusing to grow past max (0: no cap) */
void msgbuf_init(struct msgbuf *m, const char *spool_dir, size_t mem_max, size_t max);
/* msgbuf_append - add n bytes; MSGBUF_TOO_BIG (nothing added) past the cap, MSGBUF_IO
 * when the spill file cannot be written (m->err says why; later appends fail too) */
enum msgbuf_status msgbuf_append(struct msgbuf *m, const void *p, size_t n);
/* msgbuf_data - the bytes when in memory (NUL-terminated, borrowed until the next append),
 * or NULL when spilled (read msgbuf_fd instead) */
const char *msgbuf_data(const struct msgbuf *m);
/* msgbuf_fd - the spill file (borrowed), or -1 when the message is in memory */
int msgbuf_fd(const struct msgbuf *m);
/* msgbuf_free - release memory and file; the buffer may be initialised again */
void msgbuf_free(struct msgbuf *m);

#endif
