// fluxwatch: the executable is only this; everything else lives in the stage libraries.
#include "fluxwatch/cli/cli.h"

int main(int argc, char** argv) { return fluxwatch::cli::run(argc, argv); }
