/* proc.c - run a program under a pseudo-terminal and capture its output (see proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "proc.h"

#define PROC_OUTPUT_LIMIT (256u * 1024)

/* now_ms - a monotonic clock in milliseconds */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* tidy - drop CRs and blank lines, then keep the tail that fits in out */
static void tidy(const struct vr_buf *b, char *out, size_t outsz)
{
	char *clean = malloc(b->len + 1);
	size_t n = 0, start;

	VR_CHECK_ALLOC(clean);
	for (size_t i = 0; i < b->len; i++) {
		char ch = b->data[i];

		if (ch == '\r' || (ch == '\n' && (n == 0 || clean[n - 1] == '\n')))
			continue;
		clean[n++] = ch;
	}
	while (n > 0 && (clean[n - 1] == '\n' || clean[n - 1] == ' '))
		n--;
	start = n >= outsz ? n - (outsz - 1) : 0;
	snprintf(out, outsz, "%.*s", (int)(n - start), clean + start);
	free(clean);
}

/* proc_run - forkpty, exec, read until the child is gone, wait for it */
int proc_run(const char *const argv[], int timeout, char *out, size_t outsz)
{
	struct vr_buf b = {0};
	long long deadline = now_ms() + (long long)timeout * 1000;
	int fd, status = 0, rc;
	bool exited = false;
	pid_t pid;

	out[0] = '\0';
	pid = forkpty(&fd, NULL, NULL, NULL);
	if (pid < 0) {
		snprintf(out, outsz, "cannot start %s: %s", argv[0], strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		char chunk[4096];
		ssize_t r;

		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
		if (!exited && now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(fd);
			vr_buf_free(&b);
			snprintf(out, outsz, "%s did not finish within %d s", argv[0], timeout);
			return -1;
		}
		/* a daemon the child started may keep the terminal open: once the child is
		 * gone, take what is already there and stop */
		r = poll(&p, 1, exited ? 0 : 100);
		if (r > 0) {
			r = read(fd, chunk, sizeof(chunk));
			if (r > 0) {
				vr_buf_append(&b, chunk, (size_t)r, PROC_OUTPUT_LIMIT);
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			/* EIO: every holder of the terminal closed it */
			if (!exited && waitpid(pid, &status, 0) == pid)
				exited = true;
			break;
		}
		if (exited)
			break;
	}
	close(fd);
	tidy(&b, out, outsz);
	vr_buf_free(&b);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	rc = (int)strlen(out);
	snprintf(out + rc, outsz - (size_t)rc, "%s%s killed by signal %d", rc ? "\n" : "", argv[0],
		 WTERMSIG(status));
	return -1;
}
