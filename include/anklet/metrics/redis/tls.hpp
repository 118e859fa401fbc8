// anklet::metrics::redis TLS on OpenSSL, for rediss:// targets. Opt-in: include this header
// and link libssl and libcrypto (Meson: -Dtls=enabled; CMake: COMPONENTS tls); nothing
// else in the library includes an OpenSSL header.
//
// Example:
//   namespace redis = anklet::metrics::redis;
//   redis::tls_settings s;            // verification on: system store, SNI, host name check
//   s.ca_file = "/etc/redis/ca.crt";  // or ca_dir; optional cert_file + key_file
//   auto tls = redis::tls_layer(s);   // a CA or key that cannot be read fails here
//   if (!tls) return 1;
//   redis::client_options o;
//   o.target = redis::parse_url("rediss://cache.example:6380").value();
//   o.tls = tls.value();
//   redis::client c(o);
//
// The certificate of the server is verified against ca_file/ca_dir, or the system's store
// when neither is set, and must name the host connected to (DNS name, or IP address for an
// address); SNI carries the host name. `insecure` skips both checks (Anklet's
// tls_insecure): the connection is encrypted but the server is not authenticated.
// See docs/redis-cluster.md.
#pragma once

#include <memory>
#include <string>

#include "anklet/metrics/detail/compiled.hpp"
#include "anklet/metrics/redis/client.hpp"
#include "anklet/metrics/redis/error.hpp"
#include "anklet/metrics/redis/url.hpp"

// In compiled mode (docs/compiled-mode.md) the layer is compiled in the implementation
// file, and the program's other files do not parse OpenSSL's headers.
#if ANKLET_METRICS_DEFINE_BODIES
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <climits>
#include <utility>

#include "anklet/metrics/detail/socket.hpp"
#endif

namespace anklet::metrics::redis {

/// How TLS connections verify the server and present a client certificate.
struct tls_settings {
  /// PEM file of trusted CAs; with ca_dir empty too, the system's default store is used.
  std::string ca_file;
  /// Directory of trusted CAs (hashed names, as c_rehash makes).
  std::string ca_dir;
  /// Optional client certificate (PEM, chain allowed) and its private key.
  std::string cert_file;
  std::string key_file;
  /// The name to send as SNI and to check the certificate against; empty = the target host.
  std::string server_name;
  /// Skips certificate and host name verification (Anklet's tls_insecure).
  bool insecure = false;
};

/// A TLS layer factory for client_options::tls. Fails when a CA, certificate or key file
/// cannot be loaded, or the key does not match the certificate.
[[nodiscard]] result<std::shared_ptr<const stream_layer_factory>> tls_layer(const tls_settings& s = {});

#if ANKLET_METRICS_DEFINE_BODIES
namespace detail {

// The first queued OpenSSL error as text, clearing the queue.
inline std::string openssl_error(std::string_view what) {
  std::string msg(what);
  unsigned long code = ERR_get_error();
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return msg;
}

inline bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

inline int socket_of(BIO* b) noexcept { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }

// A socket BIO whose writes never raise SIGPIPE (MSG_NOSIGNAL, or the socket's SO_NOSIGPIPE
// that the client set): OpenSSL's own uses write(), whose SIGPIPE on a closed peer would kill
// a host process that did not ignore the signal.
inline BIO_METHOD* nosignal_socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "anklet socket");
    if (m == nullptr) return m;
    BIO_meth_set_write(m, [](BIO* b, const char* data, int n) -> int {
      BIO_clear_retry_flags(b);
      const auto k = ::send(socket_of(b), data, static_cast<std::size_t>(n), metrics::detail::send_nosignal);
      if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
      return static_cast<int>(k);
    });
    BIO_meth_set_read(m, [](BIO* b, char* data, int n) -> int {
      BIO_clear_retry_flags(b);
      const auto k = ::recv(socket_of(b), data, static_cast<std::size_t>(n), 0);
      if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
      return static_cast<int>(k);
    });
    BIO_meth_set_ctrl(m, [](BIO*, int cmd, long, void*) -> long { return cmd == BIO_CTRL_FLUSH ? 1 : 0; });
    BIO_meth_set_create(m, [](BIO* b) -> int {
      BIO_set_init(b, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

struct ssl_ctx_deleter {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};

class openssl_layer final : public stream_layer {
 public:
  openssl_layer(SSL* ssl, std::string name) : ssl_(ssl), name_(std::move(name)) {}
  ~openssl_layer() override { SSL_free(ssl_); }

  result<void> start(int fd, std::chrono::steady_clock::time_point deadline) override {
    BIO_METHOD* method = nosignal_socket_method();
    BIO* bio = method == nullptr ? nullptr : BIO_new(method);
    if (bio == nullptr) return redis::error{errc::system, openssl_error("TLS: BIO_new")};
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
    SSL_set_bio(ssl_, bio, bio);
    for (;;) {
      ERR_clear_error();
      const int rc = SSL_connect(ssl_);
      if (rc == 1) return {};
      const int e = SSL_get_error(ssl_, rc);
      short events = 0;
      if (e == SSL_ERROR_WANT_READ) events = POLLIN;
      else if (e == SSL_ERROR_WANT_WRITE) events = POLLOUT;
      if (events == 0) return handshake_error(e);
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return redis::error{errc::timeout, "TLS handshake with " + name_ + " timed out"};
      pollfd p{fd, events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
      if (n < 0 && errno != EINTR) return redis::error{errc::io, "TLS handshake: poll failed"};
    }
  }

  long write(const char* data, std::size_t n) override {
    return finish(SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(n, INT_MAX))), false);
  }
  long read(char* data, std::size_t n) override {
    return finish(SSL_read(ssl_, data, static_cast<int>(std::min<std::size_t>(n, INT_MAX))), true);
  }

 private:
  redis::error handshake_error(int e) const {
    const long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
      return {errc::io, "TLS handshake with " + name_ + ": server certificate not trusted: " +
                            X509_verify_cert_error_string(verify) +
                            " (set a CA file or directory that signed it, or the insecure switch)"};
    }
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      return {errc::closed, "TLS handshake with " + name_ + ": connection closed by the server"};
    }
    return {errc::io, openssl_error("TLS handshake with " + name_ + " failed")};
  }

  // SSL_read/SSL_write outcome as send/recv would report it.
  long finish(int rc, bool reading) {
    if (rc > 0) return rc;
    const int e = SSL_get_error(ssl_, rc);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      errno = EAGAIN;
      return -1;
    }
    if (reading && e == SSL_ERROR_ZERO_RETURN) return 0;
    if (e == SSL_ERROR_SYSCALL && errno != 0) return -1;
    if (reading && e == SSL_ERROR_SYSCALL) return 0;  // EOF without close_notify
    errno = EPROTO;
    return -1;
  }

  SSL* ssl_;
  std::string name_;
};

class openssl_factory final : public stream_layer_factory {
 public:
  openssl_factory(std::unique_ptr<SSL_CTX, ssl_ctx_deleter> ctx, tls_settings s)
      : ctx_(std::move(ctx)), settings_(std::move(s)) {}

  result<std::unique_ptr<stream_layer>> make(const connection_target& t) const override {
    SSL* ssl = SSL_new(ctx_.get());
    if (ssl == nullptr) return redis::error{errc::system, openssl_error("TLS: SSL_new")};
    auto layer = std::make_unique<openssl_layer>(ssl, t.host + ":" + std::to_string(t.port));
    const std::string& name = settings_.server_name.empty() ? t.host : settings_.server_name;
    const bool ip = is_ip_literal(name);
    if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
      return redis::error{errc::io, openssl_error("TLS: SNI " + name)};
    }
    if (!settings_.insecure) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) : X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
      if (ok != 1) return redis::error{errc::io, openssl_error("TLS: host name check for " + name)};
    }
    return std::unique_ptr<stream_layer>(std::move(layer));
  }

 private:
  std::unique_ptr<SSL_CTX, ssl_ctx_deleter> ctx_;
  tls_settings settings_;
};

}  // namespace detail

ANKLET_METRICS_INLINE result<std::shared_ptr<const stream_layer_factory>> tls_layer(const tls_settings& s) {
  using detail::openssl_error;
  std::unique_ptr<SSL_CTX, detail::ssl_ctx_deleter> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return redis::error{errc::system, openssl_error("TLS: SSL_CTX_new")};
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (s.insecure) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!s.ca_file.empty() || !s.ca_dir.empty()) {
      if (SSL_CTX_load_verify_locations(ctx.get(), s.ca_file.empty() ? nullptr : s.ca_file.c_str(),
                                        s.ca_dir.empty() ? nullptr : s.ca_dir.c_str()) != 1) {
        return redis::error{errc::invalid_argument,
                            openssl_error("TLS: cannot load the CA " + (s.ca_file.empty() ? s.ca_dir : s.ca_file))};
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return redis::error{errc::system, openssl_error("TLS: cannot load the system's CA store")};
    }
  }
  if (s.cert_file.empty() != s.key_file.empty()) {
    return redis::error{errc::invalid_argument, "TLS: a client certificate needs its key, and a key its certificate"};
  }
  if (!s.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), s.cert_file.c_str()) != 1) {
      return redis::error{errc::invalid_argument, openssl_error("TLS: cannot load the client certificate " + s.cert_file)};
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), s.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return redis::error{errc::invalid_argument, openssl_error("TLS: cannot load the client key " + s.key_file)};
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      return redis::error{errc::invalid_argument, openssl_error("TLS: the client key does not match its certificate")};
    }
  }
  return std::shared_ptr<const stream_layer_factory>(std::make_shared<detail::openssl_factory>(std::move(ctx), s));
}
#endif  // ANKLET_METRICS_DEFINE_BODIES

}  // namespace anklet::metrics::redis
