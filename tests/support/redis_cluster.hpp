// Test helper: a real Redis Cluster of redis-server children (masters and replicas) on free
// loopback ports, formed with `redis-cli --cluster create`; every node is stopped by its PID.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/slots.hpp"
#include "redis_test_server.hpp"

namespace anklet_test {

/// A TLS cluster: clients and the cluster bus speak TLS on each node's tls port, with this
/// server certificate and CA; the plain port stays open for the fixture's own checks.
struct cluster_tls {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
};

class redis_cluster {
 public:
  /// `masters` masters with `replicas` replicas each; a small node timeout makes failovers
  /// take about a second.
  explicit redis_cluster(int masters = 3, int replicas = 1, int node_timeout_ms = 500,
                         std::optional<cluster_tls> tls = std::nullopt) {
    want_replicas_ = replicas > 0;
    redis_config cfg;
    cfg.cluster_bus = !tls;  // with TLS the bus port is the TLS port + 10000
    cfg.extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
                      std::to_string(node_timeout_ms),
                      // Replicas sync at once (the default waits 5 s for more replicas to join).
                      "--repl-diskless-sync-delay", "0"};
    for (int i = 0; i < masters * (1 + replicas); ++i) {
      redis_config c = cfg;
      if (tls) {
        const int tp = free_cluster_port();
        tls_ports_.push_back(tp);
        c.extra_args.insert(c.extra_args.end(),
                            {"--tls-port", std::to_string(tp), "--tls-cluster", "yes", "--tls-replication", "yes",
                             "--tls-cert-file", tls->cert_file, "--tls-key-file", tls->key_file,
                             "--tls-ca-cert-file", tls->ca_file, "--tls-auth-clients", "no"});
      }
      nodes_.push_back(std::make_unique<redis_server>(c));
    }
    std::vector<std::string> args{cli_binary()};
    if (tls) args.insert(args.end(), {"--tls", "--cacert", tls->ca_file});
    args.insert(args.end(), {"--cluster", "create"});
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      args.push_back("127.0.0.1:" + std::to_string(tls ? tls_ports_[i] : nodes_[i]->port()));
    }
    args.insert(args.end(), {"--cluster-replicas", std::to_string(replicas), "--cluster-yes"});
    if (run(args, nodes_.front()->dir() + "/create.log") != 0) {
      throw std::runtime_error("redis-cli --cluster create failed; see " + nodes_.front()->dir() + "/create.log");
    }
    if (!wait_ok(std::chrono::seconds(20))) throw std::runtime_error("the cluster did not reach cluster_state:ok");
  }

  [[nodiscard]] std::size_t size() const { return nodes_.size(); }
  [[nodiscard]] redis_server& node(std::size_t i) { return *nodes_.at(i); }
  [[nodiscard]] int seed_port() const { return nodes_.front()->port(); }
  /// The first node's TLS port (TLS clusters only).
  [[nodiscard]] int seed_tls_port() const { return tls_ports_.at(0); }
  /// The node on `port` (plain or TLS), or nullptr.
  [[nodiscard]] redis_server* by_port(int port) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->port() == port || (i < tls_ports_.size() && tls_ports_[i] == port)) return nodes_[i].get();
    }
    return nullptr;
  }

  /// A plain (non-cluster) client of the node on `port`.
  static anklet::metrics::redis::client plain(int port) {
    anklet::metrics::redis::client_options o;
    o.target.host = "127.0.0.1";
    o.target.port = static_cast<std::uint16_t>(port);
    o.backoff_initial = std::chrono::milliseconds(1);
    return anklet::metrics::redis::client(o);
  }

  /// True once every live node reports cluster_state:ok and all slots served, and they
  /// agree on who serves slot 0 (so a failover has settled everywhere).
  bool wait_ok(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (all_ok()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  bool all_ok() {
    std::string owner;
    for (auto& n : nodes_) {
      if (n->pid() <= 0) continue;
      auto c = plain(n->port());
      auto info = c.command("CLUSTER", "INFO");
      if (!info || info->str.find("cluster_state:ok") == std::string::npos ||
          info->str.find("cluster_slots_ok:16384") == std::string::npos) {
        return false;
      }
      auto slots = c.command("CLUSTER", "SLOTS");
      if (!slots) return false;
      auto map = anklet::metrics::redis::parse_cluster_slots(*slots, "127.0.0.1");
      if (!map || map->holes() != 0) return false;
      const std::string o = map->master_of(0)->address();
      if (!owner.empty() && o != owner) return false;
      owner = o;
      // A dead master still named in the map is not settled yet, nor one without a replica
      // in sync (a failover needs one).
      for (const auto& m : map->masters()) {
        auto* s = by_port(m.port);
        if (s == nullptr || s->pid() <= 0) return false;
      }
      auto role = c.command("INFO", "replication");
      if (!role) return false;
      if (role->str.find("role:master") != std::string::npos && want_replicas_ &&
          role->str.find("state=online") == std::string::npos) {
        return false;
      }
    }
    return true;
  }

  static std::string cli_binary() {
    if (const char* p = std::getenv("ANKLET_REDIS_CLI"); p && *p) return p;
    return "/usr/bin/redis-cli";
  }

  // Runs a program to completion with its output in `log`; its exit status.
  static int run(std::vector<std::string> args, const std::string& log) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::vector<std::unique_ptr<redis_server>> nodes_;
  std::vector<int> tls_ports_;
  bool want_replicas_ = false;
};

}  // namespace anklet_test
