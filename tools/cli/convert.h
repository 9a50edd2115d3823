/*
 * convert.h — `auris convert IN -o OUT [--type f32|f16|bf16|q8_0]`: any supported checkpoint to
 * the native single-file format (docs/FORMAT.md).
 */
#ifndef AURIS_TOOLS_CONVERT_H
#define AURIS_TOOLS_CONVERT_H

/* argv[1] is "convert"; options start at argv[2]. Returns the exit status (0, 1 on a load or
 * write failure, 2 on a usage error). */
int cli_cmd_convert(int argc, char **argv);

#endif
