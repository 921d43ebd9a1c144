/*
 * prompt.c - terminal prompts with echo control, and the first line of stdin.
 *
 * Entry points: prompt_tty(), prompt_stdin(), prompt_free(). While echo is off, SIGINT,
 * SIGTERM and SIGHUP are caught (without SA_RESTART) so that read() returns and the
 * terminal is restored before the signal is re-raised. Lines longer than PROMPT_MAX are
 * refused rather than cut.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "prompt.h"

static volatile sig_atomic_t caught;

/* on_signal - remember the signal so the prompt can restore the terminal, then re-raise */
static void on_signal(int sig)
{
	caught = sig;
}

/* read_line - read up to a newline from FD into a fresh buffer; NULL on error or EOF */
static char *read_line(int fd)
{
	char *buf = calloc(1, PROMPT_MAX + 1);
	size_t n = 0;

	if (buf == NULL)
		abort();
	for (;;) {
		char ch;
		ssize_t got = read(fd, &ch, 1);

		if (got < 0 && errno == EINTR && !caught)
			continue;
		if (got <= 0) {
			if (got == 0 && n > 0)
				break; /* last line without a newline */
			prompt_free(buf);
			return NULL;
		}
		if (ch == '\n')
			break;
		if (n == PROMPT_MAX) {
			prompt_free(buf);
			return NULL;
		}
		buf[n++] = ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return buf;
}

/* prompt_tty - show PROMPT on the terminal and read a line (ECHO: visibly); NULL if none */
char *prompt_tty(const char *prompt, bool echo)
{
	struct sigaction sa = {.sa_handler = on_signal}, old[3];
	static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	struct termios saved, quiet;
	bool restore = false;
	char *line;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return NULL;
	caught = 0;
	if (!echo && tcgetattr(fd, &saved) == 0) {
		sigemptyset(&sa.sa_mask);
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &sa, &old[i]);
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* fall through: reading still works without the prompt shown */
	}
	line = read_line(fd);
	if (!echo) {
		if (restore)
			tcsetattr(fd, TCSAFLUSH, &saved);
		for (int i = 0; i < 3; i++)
			sigaction(sigs[i], &old[i], NULL);
		if (caught)
			raise(caught);
	}
	close(fd);
	return line;
}

/* prompt_stdin - the first line of stdin without its line end; NULL on error or EOF */
char *prompt_stdin(void)
{
	return read_line(STDIN_FILENO);
}

/* prompt_free - wipe and free S (NULL is fine) */
void prompt_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, PROMPT_MAX + 1);
	free(s);
}
