#include "compat.h"
#include "cli.h"

int
cmd_restore(int argc, char **argv, struct cli *cli)
{
	(void)argc;
	(void)argv;
	(void)cli;
	return EXIT_ERROR;
}
