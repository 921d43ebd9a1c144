/* main.c - vr-agent: the data-plane agent (not yet built: see docs/architecture.md).
 *
 * It will pull apid's configuration snapshot, render Postfix's configuration and run
 * the milter. Until then it only answers --help and --version, and says so.
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("vr-agent %s\n", VR_VERSION);
		return 0;
	}
	fprintf(argc > 1 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
		"usage: vr-agent [--help] [--version]\n"
		"The data-plane agent is not implemented yet in this build.\n");
	return argc > 1 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
