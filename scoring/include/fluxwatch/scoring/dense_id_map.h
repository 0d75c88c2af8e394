#pragma once
/// DenseIdMap: values by a database id (bigserial), looked up millions of times per score
/// run. Ids that are dense (below a few times the number of values) index a vector, so a
/// look-up is one array access instead of a hash-node walk; the odd far id goes to a map.

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace fluxwatch::scoring {

template <typename T>
class DenseIdMap {
 public:
  /// Adds `value` for `id` unless `id` has one already (the first one stays).
  void emplace(std::int64_t id, const T& value) {
    if (find(id) != nullptr) {
      return;
    }
    // Room for up to 4 slots per value (plus a start): gaps cost little, a stray id cannot
    // make the vector huge.
    constexpr std::int64_t kSlack = 1 << 16;
    if (id >= 0 && id < 4 * static_cast<std::int64_t>(count_) + kSlack) {
      const auto at = static_cast<std::size_t>(id);
      if (at >= dense_.size()) {
        dense_.resize(at + 1);
        present_.resize(at + 1, false);
      }
      dense_[at] = value;
      present_[at] = true;
    } else {
      sparse_.emplace(id, value);
    }
    ++count_;
  }

  /// The value of `id`, nullptr for none. Safe from several threads once filled.
  [[nodiscard]] const T* find(std::int64_t id) const {
    if (id >= 0 && static_cast<std::uint64_t>(id) < dense_.size() &&
        present_[static_cast<std::size_t>(id)]) {
      return &dense_[static_cast<std::size_t>(id)];
    }
    if (sparse_.empty()) {
      return nullptr;
    }
    const auto found = sparse_.find(id);  // also an id that was far when it was added
    return found == sparse_.end() ? nullptr : &found->second;
  }

 private:
  std::vector<T> dense_;
  std::vector<bool> present_;
  std::unordered_map<std::int64_t, T> sparse_;
  std::size_t count_ = 0;
};

}  // namespace fluxwatch::scoring
