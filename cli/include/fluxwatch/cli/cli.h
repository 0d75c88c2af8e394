#pragma once
/// The `fluxwatch` command line: parses flags (CLI11), loads the config, wires the stages
/// and runs one command. main() only calls run().

namespace fluxwatch::cli {

/// Runs the command line; returns the process exit status (0 ok, 1 failure, 2 usage or
/// configuration error, 3 partial success such as rejected watchlist lines with --strict,
/// 4 skipped: `run --once` found another run of the campaign in progress).
int run(int argc, char** argv);

}  // namespace fluxwatch::cli
