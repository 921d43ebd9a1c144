/*
 * prompt.h - reading a username or password from the terminal or from stdin.
 *
 * Owns: the terminal dialogue of `vrcli login` (through /dev/tty, so that stdin stays
 * free for --password-stdin), echo switched off for passwords and restored even when
 * interrupted, and reading the first line of stdin.
 *
 * Ownership: both readers return a malloc'd string that the caller releases with
 * prompt_free(), which wipes it first.
 */
#ifndef VRCLI_PROMPT_H
#define VRCLI_PROMPT_H

#include <stdbool.h>

#define PROMPT_MAX 4096

/* prompt_tty - show PROMPT on the terminal and read a line (ECHO: visibly); NULL if none */
char *prompt_tty(const char *prompt, bool echo);

/* prompt_stdin - the first line of stdin without its line end; NULL on error or EOF */
char *prompt_stdin(void);

/* prompt_free - wipe and free S (NULL is fine) */
void prompt_free(char *s);

#endif
