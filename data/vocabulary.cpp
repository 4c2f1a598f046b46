#include "data/vocabulary.h"

#include <set>
#include <sstream>

#include "common/error.h"

namespace effrobust {

namespace {

const char* const kSpecial[] = {"<pad>", "<start>", "<end>", "<unk>"};

}  // namespace

Vocabulary::Vocabulary(std::vector<std::string> tokens, bool characters)
    : tokens_(std::move(tokens)), characters_(characters) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (!ids_.emplace(tokens_[i], static_cast<int64_t>(i)).second) {
      throw DataError("vocabulary token '" + tokens_[i] + "' appears twice");
    }
  }
}

std::vector<std::string> Vocabulary::Split(const std::string& text, bool characters) {
  std::vector<std::string> out;
  if (characters) {
    for (char c : text) out.emplace_back(1, c);
    return out;
  }
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

Vocabulary Vocabulary::FromTexts(const std::vector<std::string>& texts, bool characters) {
  std::set<std::string> distinct;
  for (const auto& t : texts) {
    for (auto& tok : Split(t, characters)) distinct.insert(tok);
  }
  std::vector<std::string> tokens(std::begin(kSpecial), std::end(kSpecial));
  for (const auto& tok : distinct) {
    if (tok != kSpecial[0] && tok != kSpecial[1] && tok != kSpecial[2] && tok != kSpecial[3]) {
      tokens.push_back(tok);
    }
  }
  return Vocabulary(std::move(tokens), characters);
}

Vocabulary Vocabulary::FromTokens(const std::vector<std::string>& tokens, bool characters) {
  for (int i = 0; i < 4; ++i) {
    if (static_cast<int>(tokens.size()) <= i || tokens[i] != kSpecial[i]) {
      throw DataError(std::string("vocabulary token ") + std::to_string(i) + " must be '" +
                      kSpecial[i] + "'");
    }
  }
  return Vocabulary(tokens, characters);
}

int64_t Vocabulary::Id(const std::string& token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? kUnknown : it->second;
}

std::vector<int64_t> Vocabulary::Encode(const std::string& text) const {
  std::vector<int64_t> ids{kStart};
  for (const auto& tok : Split(text, characters_)) ids.push_back(Id(tok));
  ids.push_back(kEnd);
  return ids;
}

std::string Vocabulary::Decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    if (id < 0 || id >= size()) {
      throw DataError("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                      std::to_string(size()) + ")");
    }
    if (id == kEnd) break;
    if (id == kStart || id == kPad) continue;
    if (!out.empty() && !characters_) out += ' ';
    out += tokens_[static_cast<size_t>(id)];
  }
  return out;
}

}  // namespace effrobust
