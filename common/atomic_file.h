/* atomic_file.h - write a file that another program reads, all or nothing.
 *
 * Content goes to "PATH.tmp.PID" in the same directory, is fsync'd, renamed over PATH,
 * and the directory is fsync'd, so a crash leaves either the old or the new file.
 */
#ifndef VR_ATOMIC_FILE_H
#define VR_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* vr_atomic_write - replace path with n bytes of data, mode as given; 0 or -1 (errno) */
int vr_atomic_write(const char *path, const void *data, size_t n, mode_t mode);
/* vr_read_file - read a whole file (at most limit bytes) into a malloc'd NUL-terminated
 * buffer the caller frees; NULL (errno) on failure or when larger than limit (EFBIG) */
char *vr_read_file(const char *path, size_t limit, size_t *len);
/* vr_fsync_dir - fsync the directory that holds path; 0 or -1 */
int vr_fsync_dir(const char *path);

#endif
