// Benchmark peer: a small civetweb server (the server prometheus-cpp's Exposer embeds)
// answering /metrics/v1 with the bytes of a file, as a pre-rendered body. It measures the
// HTTP layer only, so it flatters civetweb: prometheus-cpp would also collect and
// serialize on each scrape.
// usage: civetweb_peer BODY_FILE PORT [THREADS]; prints "ready" once serving; SIGINT or
// SIGTERM stop it.
#include <civetweb.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace {

// The whole response, headers and body, built once and sent with one mg_write per
// request (with TCP_NODELAY), so that Nagle cannot hold the body back.
std::string response;  // NOLINT: written before serving, then only read

int serve(mg_connection* conn, void* /*unused*/) {
  mg_write(conn, response.data(), response.size());
  return 200;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: civetweb_peer BODY_FILE PORT [THREADS]\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  const std::string body(std::istreambuf_iterator<char>(in), {});
  response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::string ports = std::string("127.0.0.1:") + argv[2];
  const char* threads = argc > 3 ? argv[3] : "2";  // prometheus-cpp's Exposer default

  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  mg_init_library(0);
  const char* options[] = {"listening_ports", ports.c_str(), "num_threads", threads, "enable_keep_alive", "yes",
                           "tcp_nodelay", "1", nullptr};
  mg_context* ctx = mg_start(nullptr, nullptr, options);
  if (ctx == nullptr) {
    std::fprintf(stderr, "civetweb_peer: cannot start on %s\n", ports.c_str());
    return 1;
  }
  mg_set_request_handler(ctx, "/metrics/v1", serve, nullptr);
  std::printf("ready\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  mg_stop(ctx);
  mg_exit_library();
  return 0;
}
