/* dedup-analyze: the theoretical page-sharing potential of guest memory
 * dumps.  The program in one screen: options, inputs, then --info or the
 * analysis run (cli.h). */
#include "cli.h"

int main(int argc, char **argv)
{
	struct cli_opts o;
	int rc = cli_parse(argc, argv, &o);
	if (rc >= 0) {
		cli_opts_free(&o);
		return rc;
	}
	struct cli_inputs s;
	if (cli_inputs_new(&s, &o))
		rc = 1;
	else
		rc = o.info ? cli_info(&s, &o) : cli_analyze(&s, &o);
	cli_inputs_free(&s);
	cli_opts_free(&o);
	return rc;
}
