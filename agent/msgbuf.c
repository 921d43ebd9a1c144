/* msgbuf.c - a raw message in memory, then in an anonymous file (see msgbuf.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgbuf.h"

/* msgbuf_init - empty, in memory */
void msgbuf_init(struct msgbuf *m, const char *spool_dir, size_t mem_max, size_t max)
{
	memset(m, 0, sizeof(*m));
	m->spool_dir = spool_dir;
	m->mem_max = mem_max;
	m->max = max;
	m->fd = -1;
}

/* write_all - write n bytes to fd; 0 or -1 (errno) */
static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* open_spill - an unnamed file in the spool directory; the descriptor or -1 (errno) */
static int open_spill(const char *dir)
{
	char path[4096];
	int fd;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
#endif
	if (snprintf(path, sizeof(path), "%s/msg.XXXXXX", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
		return -1;
	unlink(path);
	return fd;
}

/* spill - move the memory part into a new file */
static int spill(struct msgbuf *m)
{
	if ((m->fd = open_spill(m->spool_dir)) < 0)
		return -1;
	if (m->mem.len > 0 && write_all(m->fd, m->mem.data, m->mem.len) < 0) {
		int e = errno;

		close(m->fd);
		m->fd = -1;
		errno = e;
		return -1;
	}
	vr_buf_free(&m->mem);
	return 0;
}

/* msgbuf_append - memory first, the file past mem_max */
enum msgbuf_status msgbuf_append(struct msgbuf *m, const void *p, size_t n)
{
	if (m->err)
		return MSGBUF_IO;
	if (m->max && (n > m->max || m->len > m->max - n))
		return MSGBUF_TOO_BIG;
	if (n == 0)
		return MSGBUF_OK;
	if (m->fd < 0 && m->len + n > m->mem_max && spill(m) < 0) {
		m->err = errno ? errno : EIO;
		return MSGBUF_IO;
	}
	if (m->fd >= 0) {
		if (write_all(m->fd, p, n) < 0) {
			m->err = errno ? errno : EIO;
			return MSGBUF_IO;
		}
	} else if (vr_buf_append(&m->mem, p, n, m->mem_max) < 0) {
		/* cannot happen: checked above */
		m->err = EFBIG;
		return MSGBUF_IO;
	}
	m->len += n;
	return MSGBUF_OK;
}

/* msgbuf_data - the memory copy ("" for an empty message) */
const char *msgbuf_data(const struct msgbuf *m)
{
	if (m->fd >= 0)
		return NULL;
	return m->mem.data ? m->mem.data : "";
}

/* msgbuf_fd - the spill file */
int msgbuf_fd(const struct msgbuf *m)
{
	return m->fd;
}

/* msgbuf_free - the file disappears with its last descriptor */
void msgbuf_free(struct msgbuf *m)
{
	vr_buf_free(&m->mem);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	m->len = 0;
	m->err = 0;
}
