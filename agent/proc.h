/* proc.h - run a helper program (postfix, postmap) and capture what it says.
 *
 * Postfix's command-line tools print their errors to stderr only when stderr is a terminal
 * (otherwise to syslog, which an appliance may not even run), so proc_run() gives the child
 * a pseudo-terminal and collects everything written to it. Not thread-safe with respect to
 * other children of the process (it waits for its own child only).
 */
#ifndef VR_AGENT_PROC_H
#define VR_AGENT_PROC_H

#include <stddef.h>

/* proc_run - run argv[0] (a path) with argv under a pty for at most timeout seconds; the
 * output, with CRs removed and blank lines dropped, goes into out (NUL-terminated, the
 * tail kept when it is longer). Returns the exit status (0..255), or -1 when the program
 * could not run, was killed by a signal, or timed out (then out says so). */
int proc_run(const char *const argv[], int timeout, char *out, size_t outsz);

#endif
