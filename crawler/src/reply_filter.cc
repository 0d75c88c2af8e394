// The reply filter: every reply the crawler's sockets receive passes here before c-ares
// takes or drops it, so that dropped replies are counted and named in the probe's detail
// (c-ares 1.18 drops them silently), a FORMERR to EDNS0 is kept from c-ares's own EDNS
// fallback, and a TCP connection that breaks is described.
#include <ares.h>
#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "crawler_impl.h"
#include "fluxwatch/crawler/reply.h"

namespace fluxwatch::crawler {
namespace {

/// The one question of a reply, as c-ares 1.18's same_questions compares it.
struct ReplyQuestion {
  std::string name;  // as ares_expand_name gives it
  int type = 0;
  int klass = 0;
};

std::optional<ReplyQuestion> reply_question(const std::uint8_t* message, std::size_t size) {
  if (size < kHeaderSize || message[4] != 0 || message[5] != 1) {
    return std::nullopt;  // our queries have one question; c-ares wants the same count
  }
  char* expanded = nullptr;
  long used = 0;  // NOLINT(google-runtime-int): c-ares's type
  if (ares_expand_name(message + kHeaderSize, message, static_cast<int>(size), &expanded, &used) !=
      ARES_SUCCESS) {
    return std::nullopt;
  }
  ReplyQuestion question;
  question.name = expanded;
  ares_free_string(expanded);
  const std::size_t pos = kHeaderSize + static_cast<std::size_t>(used);
  if (pos + 4 > size) {
    return std::nullopt;
  }
  question.type = (message[pos] << 8) | message[pos + 1];
  question.klass = (message[pos + 2] << 8) | message[pos + 3];
  return question;
}

}  // namespace

void Crawler::Impl::inspect(Channel& channel, std::uint8_t* message, std::size_t size,
                            std::size_t full_size) {
  // Mirrors c-ares 1.18 process_answer: a reply is taken when it has a header, its ID is
  // in flight and its question is that query's (same_questions); it is dropped otherwise.
  Pending* by_id = nullptr;
  if (size >= 2) {
    const auto id = static_cast<std::uint16_t>((message[0] << 8) | message[1]);
    if (const auto found = channel.by_qid.find(id); found != channel.by_qid.end()) {
      by_id = found->second;
    }
  }
  const auto ignore = [&](Pending* target, std::string why) {
    ++stats_.mismatched;
    if (target == nullptr) {
      ++channel.unmatched;
      return;
    }
    ++target->ignored;
    target->ignored_last = std::move(why);
  };
  if (size < kHeaderSize) {
    ignore(by_id, size == 0 ? std::string("an empty datagram")
                            : fmt::format("{} bytes, shorter than a DNS header", size));
    return;
  }
  const auto question = reply_question(message, size);
  const auto asks = [&](const Pending& pending) {
    return question && question->klass == kClassIn &&
           question->type == static_cast<int>(pending.result.qtype) &&
           strcasecmp(question->name.c_str(), pending.result.name.c_str()) == 0;
  };
  if (by_id != nullptr && asks(*by_id)) {
    if (full_size > size) {
      by_id->cut = fmt::format("the {}-byte UDP reply was cut to the {} bytes c-ares reads",
                               full_size, std::min<std::size_t>(size, kChannelEdnsPayload));
    }
    const int rcode = message[3] & 0x0f;
    if (rcode == kRcodeFormErr) {
      const MessageScan scan = scan_message({message, size});
      if (!scan.error.empty() || !scan.has_opt) {  // c-ares's test: has_opt_rr() != 1
        by_id->edns_rejected = by_id->edns;        // see on_reply
        if (!channel.tcp) {  // a UDP channel has ARES_FLAG_EDNS: keep c-ares's fallback off
          by_id->formerr_masked = true;
          message[3] = static_cast<std::uint8_t>((message[3] & 0xf0) | kRcodeNotImp);
        }
      }
    }
    return;
  }
  if (by_id != nullptr) {
    ignore(by_id, question ? fmt::format("a reply for {} {}", question->name,
                                         rrtype_name(static_cast<std::uint16_t>(question->type)))
                           : std::string("a reply whose question cannot be read"));
    return;
  }
  const auto id = static_cast<std::uint16_t>((message[0] << 8) | message[1]);
  Pending* asked = nullptr;
  if (question && !channel.recent.contains(id)) {
    for (const auto& [qid, pending] : channel.by_qid) {
      if (asks(*pending)) {
        asked = pending;
        break;
      }
    }
  }
  ignore(asked, asked == nullptr
                    ? std::string()
                    : fmt::format("a reply with the wrong query ID {:#06x}, asked with {:#06x}", id,
                                  asked->qid));
}

void Crawler::Impl::observe_tcp(Channel& channel, int fd, const std::uint8_t* data, ssize_t got,
                                int error) {
  if (got < 0 && (error == EAGAIN || error == EWOULDBLOCK || error == EINTR)) {
    return;
  }
  if (got > 0) {
    auto& stream = channel.streams[fd];
    stream.insert(stream.end(), data, data + got);
    std::size_t done = 0;
    while (stream.size() - done >= 2) {
      const std::size_t length = (stream[done] << 8U) | stream[done + 1];
      if (stream.size() - done - 2 < length) {
        break;
      }
      inspect(channel, stream.data() + done + 2, length, length);
      done += 2 + length;
    }
    stream.erase(stream.begin(), stream.begin() + static_cast<std::ptrdiff_t>(done));
    return;
  }
  // The connection ended (0) or failed: c-ares ends or retries its queries with
  // ARES_ECONNREFUSED whatever happened, so say here what it was.
  const auto found = channel.streams.find(fd);
  const std::size_t have = found == channel.streams.end() ? 0 : found->second.size();
  if (got < 0 && error == ECONNREFUSED && have == 0) {
    return;  // a refused connection is what c-ares says
  }
  const std::string how = got == 0 ? std::string("closed by the server")
                                   : fmt::format("failed: {}", std::strerror(error));
  std::string what;
  if (have >= 2) {
    const std::size_t expected = 2 + ((found->second[0] << 8U) | found->second[1]);
    what = fmt::format("TCP connection to {} {} after {} of the {} bytes of an answer",
                       channel.server, how, have, expected);
  } else {
    what = fmt::format("TCP connection to {} {} before an answer", channel.server, how);
  }
  for (const auto& [qid, pending] : channel.by_qid) {
    pending->transport_error = what;
  }
  if (found != channel.streams.end()) {
    channel.streams.erase(found);
  }
}

}  // namespace fluxwatch::crawler
