#pragma once
// What `serve` (cmd_serve.cc) and `plot` (cmd_plot.cc) share: both read where
// database.read_dsn says, else from the database every other command uses.

#include <string>

#include "context.h"

namespace fluxwatch::cli {

inline std::string reader_dsn(const config::Config& config) {
  return config.database.read_dsn.empty() ? database_dsn(config) : config.database.read_dsn;
}

/// `plot`, registered by add_serve_commands().
void add_plot_command(CLI::App& app, CommandTable& table);

}  // namespace fluxwatch::cli
