// A token vocabulary with the special tokens every decoder needs: <pad> 0,
// <start> 1, <end> 2, <unk> 3, then the tokens in sorted order. Tokens are
// words (captions: split on spaces) or characters (translation). Torch-free.
// Immutable after construction; thread-safe.
#ifndef EFFROBUST_DATA_VOCABULARY_H_
#define EFFROBUST_DATA_VOCABULARY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace effrobust {

class Vocabulary {
 public:
  static constexpr int64_t kPad = 0;
  static constexpr int64_t kStart = 1;
  static constexpr int64_t kEnd = 2;
  static constexpr int64_t kUnknown = 3;

  // Every distinct token of `texts`, split by `Split` (words, or characters
  // if `characters`).
  static Vocabulary FromTexts(const std::vector<std::string>& texts, bool characters = false);

  // Rebuilds a vocabulary from Tokens() (as saved with a model). Throws
  // DataError if the first four are not the special tokens or a token repeats.
  static Vocabulary FromTokens(const std::vector<std::string>& tokens, bool characters);

  // Words split on runs of spaces, or the characters of `text` (bytes).
  static std::vector<std::string> Split(const std::string& text, bool characters);

  // <start> ids... <end>; unknown tokens map to <unk>.
  std::vector<int64_t> Encode(const std::string& text) const;

  // Text of ids up to the first <end> (not included); <start> and <pad> are
  // skipped; words are joined by single spaces, characters by nothing.
  // Throws DataError on an id outside [0, size()).
  std::string Decode(const std::vector<int64_t>& ids) const;

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  bool characters() const { return characters_; }
  const std::vector<std::string>& Tokens() const { return tokens_; }
  // Id of `token`, or kUnknown.
  int64_t Id(const std::string& token) const;

 private:
  Vocabulary(std::vector<std::string> tokens, bool characters);

  std::vector<std::string> tokens_;
  std::map<std::string, int64_t> ids_;
  bool characters_ = false;
};

}  // namespace effrobust

#endif  // EFFROBUST_DATA_VOCABULARY_H_
