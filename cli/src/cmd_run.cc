// `fluxwatch run`: the continuous scheduler (daemon), or `--once` for cron. One
// scheduler::Worker per campaign, each on its own thread; signals are turned into flags the
// workers poll: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the config and GeoIP data.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "context.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/fetch/maintenance.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/scheduler/worker.h"
#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/schedule_store.h"
#include "progress.h"
#include "run_monitor.h"
#include "service.h"
#include "signals.h"

namespace fluxwatch::cli {
namespace {

/// `fluxwatch run --once` found another run of the campaign holding its lock.
constexpr int kExitBusy = 4;

struct RunFlags {
  std::vector<std::string> campaigns;
  bool once = false;
  std::string vantage;
  std::string worker_id;
  std::string progress = "auto";
  std::string metrics_file;
  std::string trace;
  int heartbeat_seconds = 60;
};

/// The configured campaigns, or one "default" campaign over the whole watchlist.
std::vector<config::Campaign> effective_campaigns(const config::Config& config) {
  if (!config.campaigns.empty()) {
    return config.campaigns;
  }
  config::Campaign campaign;
  campaign.name = "default";
  return {campaign};
}

std::vector<config::Campaign> selected_campaigns(const config::Config& config,
                                                 const RunFlags& flags) {
  auto all = effective_campaigns(config);
  if (flags.campaigns.empty()) {
    if (flags.once && all.size() > 1) {
      throw ConfigError("--once needs --campaign NAME when several campaigns are configured");
    }
    return all;
  }
  std::vector<config::Campaign> chosen;
  for (const auto& name : flags.campaigns) {
    const auto found =
        std::ranges::find_if(all, [&](const config::Campaign& c) { return c.name == name; });
    if (found == all.end()) {
      std::string known;
      for (const auto& c : all) {
        known += (known.empty() ? "" : ", ") + c.name;
      }
      throw ConfigError(
          fmt::format("--campaign {}: no such campaign (configured: {})", name, known));
    }
    chosen.push_back(*found);
  }
  return chosen;
}

crawler::CrawlerOptions campaign_crawler_options(const config::Config& config,
                                                 const config::Campaign& campaign) {
  auto options = crawler_options(config);  // a campaign may name its own resolvers
  if (!campaign.resolvers.empty()) {
    options.servers = campaign.resolvers;
  }
  return options;
}

scheduler::IntervalPolicy intervals(const config::Campaign& campaign) {
  return scheduler::IntervalPolicy{campaign.base_interval, campaign.min_interval,
                                   campaign.max_interval, campaign.jitter};
}

scheduler::WorkerOptions worker_options(const config::Config& config,
                                        const config::Campaign& campaign, const RunFlags& flags) {
  scheduler::WorkerOptions options;
  options.campaign = campaign.name;
  options.selection = storage::CampaignSelection{campaign.tags, campaign.sources};
  options.engine = engine_options(
      config, campaign.record_types.empty() ? config.probe.record_types : campaign.record_types,
      engine_mode(campaign.authoritative, campaign.every_resolver),
      flags.vantage.empty() ? campaign.vantage : flags.vantage);
  options.intervals = intervals(campaign);
  options.start = campaign.start;
  options.end = campaign.end;
  options.qps = campaign.qps;
  options.qps_per_resolver = campaign.qps_per_resolver;
  options.worker_id =
      flags.worker_id.empty() ? scheduler::make_worker_id() : flags.worker_id + ":" + campaign.name;
  options.lease = config.scheduler.lease;
  options.lease_batch = config.scheduler.lease_batch;
  options.flush_interval = config.scheduler.flush_interval;
  options.buffer_limit = config.scheduler.buffer_limit;
  options.shutdown_grace = config.scheduler.shutdown_grace;
  options.once = flags.once;
  auto settings = nlohmann::json::parse(config::to_json(config));
  settings["campaign"] = nlohmann::json::parse(config::to_json(campaign));
  settings["campaign"]["vantage"] = options.engine.vantage;  // --vantage overrides it
  settings["campaign"]["once"] = flags.once;
  options.engine.settings_json = settings.dump();
  return options;
}

/// Re-reads the configuration as the command line selected it (for SIGHUP).
config::Config reread_config(const CLI::App& run_command) {
  GlobalFlags global;
  const CLI::App* parent = run_command.get_parent();
  auto text_of = [&](const char* name) -> std::string {
    const CLI::Option* option = parent->get_option_no_throw(name);
    return option != nullptr && option->count() > 0 ? option->as<std::string>() : std::string();
  };
  global.config_path = text_of("--config");
  global.state_dir = text_of("--state-dir");
  global.dsn = text_of("--dsn");
  return load_config(global);
}

/// How often the daemon looks for due feeds and new addresses to HTTP-probe.
constexpr auto kMaintenanceInterval = std::chrono::seconds(30);

/// The daemon's side duties, on their own thread so a slow feed never delays probing:
/// refresh the configured feeds when due, and HTTP-probe addresses found since start-up
/// (only with http_probe.enabled). Failures are logged and retried next time.
std::thread start_maintenance(const config::Config& config, const std::string& dsn) {
  if (config.feeds.empty() && !config.http_probe.enabled) {
    return {};
  }
  return std::thread([config, dsn] {
    const auto started = std::chrono::system_clock::now();
    std::optional<fetch::FetchMaintenance> maintenance;
    auto next = std::chrono::steady_clock::now();
    while (!g_stop.load()) {
      if (std::chrono::steady_clock::now() >= next) {
        next = std::chrono::steady_clock::now() + kMaintenanceInterval;
        try {
          if (!maintenance) {
            maintenance.emplace(config, dsn);
          }
          for (const auto& feed :
               maintenance->refresh_due_feeds(std::chrono::system_clock::now())) {
            using Kind = fetch::FeedOutcome::Kind;
            if (feed.kind == Kind::Imported) {
              spdlog::info("feed {}: {} domains ({} new, {} delisted, {} rejected lines)", feed.url,
                           feed.entries, feed.added, feed.delisted, feed.problems.size());
            } else if (feed.kind == Kind::Failed) {
              spdlog::warn("feed {}: {}; {}", feed.url, feed.error,
                           feed.had_previous_import ? "the previous import is kept"
                                                    : "nothing was imported from it yet");
            }
          }
          (void)maintenance->probe_new_addresses({"", started, 10000, 0});  // logs its summary
        } catch (const std::exception& error) {
          spdlog::error("feeds/http probes: {} (retrying in {} s)", error.what(),
                        kMaintenanceInterval.count());
          maintenance.reset();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
}

/// One campaign's worker and what it works with (connections, crawler, GeoIP), on its own
/// thread.
struct CampaignRun {
  CampaignRun(const config::Config& config, const config::Campaign& chosen, const RunFlags& flags,
              const std::string& dsn, scheduler::BatchObserver observer)
      : campaign(chosen),
        database(dsn),
        schedule(dsn),
        crawler(campaign_crawler_options(config, chosen)),
        enricher(geo_options(config)),
        worker(observed(worker_options(config, chosen, flags), std::move(observer)),
               scheduler::WorkerParts{crawler, enricher, database, schedule}) {}

  static scheduler::WorkerOptions observed(scheduler::WorkerOptions options,
                                           scheduler::BatchObserver observer) {
    options.observer = std::move(observer);
    return options;
  }

  void start(std::atomic<std::size_t>& running) {
    ++running;
    thread = std::thread([this, &running] {
      try {
        stats = worker.run(g_stop);
      } catch (...) {
        failure = std::current_exception();
        g_stop.store(true);  // one campaign failing stops the others cleanly
      }
      --running;
    });
  }

  config::Campaign campaign;
  storage::Database database;
  storage::ScheduleStore schedule;
  crawler::Crawler crawler;
  geo::Enricher enricher;
  scheduler::Worker worker;
  std::thread thread;
  scheduler::WorkerStats stats;
  std::exception_ptr failure;
};

/// What a reload cannot change in a running campaign; empty if nothing of that changed.
std::vector<std::string> needs_restart(const config::Config& running_config,
                                       const config::Config& fresh, const config::Campaign& now,
                                       const config::Campaign& then) {
  std::vector<std::string> changed;
  const auto resolvers = [](const config::Config& c, const config::Campaign& campaign) {
    return campaign.resolvers.empty() ? c.resolvers : campaign.resolvers;
  };
  const auto types = [](const config::Config& c, const config::Campaign& campaign) {
    return campaign.record_types.empty() ? c.probe.record_types : campaign.record_types;
  };
  if (resolvers(running_config, now) != resolvers(fresh, then)) {
    changed.emplace_back("resolvers");
  }
  if (types(running_config, now) != types(fresh, then)) {
    changed.emplace_back("record_types");
  }
  if (now.tags != then.tags || now.sources != then.sources) {
    changed.emplace_back("tags/sources");
  }
  if (now.authoritative != then.authoritative || now.every_resolver != then.every_resolver) {
    changed.emplace_back("mode/resolver_mode");
  }
  if (now.start != then.start || now.end != then.end) {
    changed.emplace_back("start/end");
  }
  return changed;
}

int run_scheduler(const config::Config& config, const RunFlags& flags, const CLI::App& command) {
  const auto campaigns = selected_campaigns(config, flags);
  crawler::AresLibrary ares;
  { auto db = open_database(config); }  // create or upgrade the schema
  const std::string dsn = database_dsn(config);
  install_signal_handlers();

  // Cron mode: one run per campaign at a time, decided by a session advisory lock.
  std::optional<storage::ScheduleStore> lock_holder;
  if (flags.once) {
    lock_holder.emplace(dsn);
    if (!lock_holder->try_lock_campaign(campaigns.front().name)) {
      spdlog::warn(
          "campaign {}: another `fluxwatch run --once` of this campaign is running; skipped "
          "(exit status {})",
          campaigns.front().name, kExitBusy);
      return kExitBusy;
    }
  }

  const bool show_progress =
      flags.progress == "always" || (flags.progress == "auto" && stderr_is_terminal());
  RunMonitor monitor(
      MonitorOptions{"run", show_progress, !show_progress,
                     std::chrono::seconds(flags.heartbeat_seconds),
                     flags.once ? "" : config.metrics.listen, flags.metrics_file, flags.trace, dsn},
      config);
  std::vector<std::unique_ptr<CampaignRun>> runs;
  for (const auto& campaign : campaigns) {
    runs.push_back(std::make_unique<CampaignRun>(config, campaign, flags, dsn,
                                                 monitor.observer(campaign.name)));
  }
  std::atomic<std::size_t> running{0};
  for (auto& run : runs) {
    run->start(running);
  }

  std::thread maintenance = flags.once ? std::thread() : start_maintenance(config, dsn);

  config::Config running_config = config;
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (g_hangup.exchange(false) && !g_stop.load()) {
      try {
        const auto fresh = reread_config(command);
        const auto fresh_campaigns = effective_campaigns(fresh);
        for (auto& run : runs) {
          const auto found = std::ranges::find_if(
              fresh_campaigns, [&](const auto& c) { return c.name == run->campaign.name; });
          if (found == fresh_campaigns.end()) {
            spdlog::warn(
                "reload: campaign {} is no longer configured; it keeps running until "
                "restart",
                run->campaign.name);
            continue;
          }
          const auto changed = needs_restart(running_config, fresh, run->campaign, *found);
          if (!changed.empty()) {
            spdlog::warn(
                "reload: campaign {}: changed {} take effect at the next restart; the rest is "
                "applied now",
                run->campaign.name, fmt::join(changed, ", "));
          }
          run->worker.reload(scheduler::ReloadableSettings{
              intervals(*found), flags.vantage.empty() ? found->vantage : flags.vantage, found->qps,
              found->qps_per_resolver, geo_options(fresh)});
        }
        // Campaigns added to the file start now (only when no --campaign chose a subset).
        if (flags.campaigns.empty() && !flags.once) {
          for (const auto& campaign : fresh_campaigns) {
            const bool known = std::ranges::any_of(
                runs, [&](const auto& run) { return run->campaign.name == campaign.name; });
            if (!known) {
              runs.push_back(std::make_unique<CampaignRun>(fresh, campaign, flags, dsn,
                                                           monitor.observer(campaign.name)));
              runs.back()->start(running);
              spdlog::info("reload: campaign {} added and started", campaign.name);
            }
          }
        }
        spdlog::info("reload: configuration re-read");
      } catch (const std::exception& error) {
        spdlog::error("reload: keeping the running configuration: {}", error.what());
      }
    }
    std::vector<std::pair<std::string, scheduler::WorkerStats>> totals;
    for (const auto& run : runs) {
      totals.emplace_back(run->campaign.name, run->worker.snapshot());
    }
    monitor.tick(totals, g_stop.load());
  }
  for (auto& run : runs) {
    run->thread.join();
  }
  g_stop.store(true);  // workers are done: end the maintenance thread too
  if (maintenance.joinable()) {
    maintenance.join();
  }
  std::vector<std::pair<std::string, scheduler::WorkerStats>> totals;
  for (const auto& run : runs) {
    totals.emplace_back(run->campaign.name, run->failure ? run->worker.snapshot() : run->stats);
  }
  monitor.tick(totals, true);

  int status = kExitOk;
  for (const auto& run : runs) {
    if (run->failure) {
      try {
        std::rethrow_exception(run->failure);
      } catch (const std::exception& error) {
        spdlog::error("campaign {}: {}", run->campaign.name, error.what());
      }
      status = kExitFailure;
      continue;
    }
    const auto& s = run->stats;
    spdlog::info(
        "campaign {}: {} domains probed, {} queries sent, {} probes stored, {} dropped (lease "
        "lost), {} unwritten, {} errors",
        run->campaign.name, s.domains_probed, s.queries_sent, s.probes_stored, s.probes_dropped,
        s.probes_unwritten, s.errors);
    if (s.probes_unwritten > 0) {
      status = kExitFailure;
    }
  }
  monitor.finish(status == kExitOk);
  return status;
}

}  // namespace

void add_run_commands(CLI::App& app, CommandTable& table) {
  auto flags = std::make_shared<RunFlags>();
  auto* run = app.add_subcommand(
      "run",
      "Re-probe every watched domain when it is due, until SIGTERM/SIGINT (SIGHUP reloads);\n"
      "with --once, probe what is due now and exit (cron). Exit status 4: --once skipped\n"
      "because another run of the campaign holds its lock");
  run->add_option("--campaign", flags->campaigns,
                  "Campaign(s) to run (repeatable; default: every configured campaign)");
  run->add_flag("--once", flags->once,
                "Probe the campaign's domains that are due now, store them and exit");
  run->add_option("--vantage", flags->vantage,
                  "Vantage-point label stored with every probe (overrides the campaign's)");
  run->add_option("--worker-id", flags->worker_id,
                  "Lease owner name prefix (default: host:pid:random)");
  run->add_option("--progress", flags->progress,
                  "Status line: auto (only on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  add_monitor_flags(*run, flags->metrics_file, flags->trace);
  run->add_option("--heartbeat", flags->heartbeat_seconds,
                  "Seconds between heartbeat log lines when stderr is not a terminal (default "
                  "60)")
      ->check(CLI::Range(1, 86400));
  table.add(run, [flags, run](const config::Config& config) {
    return run_scheduler(config, *flags, *run);
  });
}

}  // namespace fluxwatch::cli
