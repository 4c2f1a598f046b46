// FreeDict dictionaries in dictd format, e.g. English->German from the Debian
// package dict-freedict-eng-deu: /usr/share/dictd/freedict-eng-deu.index (one
// "headword<TAB>offset<TAB>length" line per entry, numbers in dictd base64)
// and freedict-eng-deu.dict.dz (dictzip, i.e. gzip). Reduced here to
// (English, first German translation) pairs for a character-level
// translation model. Torch-free. Thread-safe: free functions on values.
#ifndef EFFROBUST_DATA_FREEDICT_H_
#define EFFROBUST_DATA_FREEDICT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace effrobust {

// One dictionary entry reduced to a translation pair. `source` is the
// headword as the entry body spells it (the .index form is lowercased and
// stripped of punctuation), without its "/pronunciation/"; `target` is the
// first translation, grammar tags (<fem>, <pl>, ...) and [..] labels
// stripped, whitespace collapsed and trimmed.
struct DictPair {
  std::string source;
  std::string target;
};

// $EFFROBUST_FREEDICT_DIR if set, else /usr/share/dictd.
std::string DefaultFreeDictDir();

// Reads DIR/NAME.index and DIR/NAME.dict.dz. Returns one pair per index
// entry, in index order, whose source and first translation are non-empty;
// metadata entries (headword empty or starting with "00database" /
// "00-database") are skipped. Throws DataError naming the file on a missing
// or corrupt file, and the line for a bad index line (wrong field count, bad
// base64, byte range outside the .dict).
std::vector<DictPair> LoadFreeDict(const std::string& dir,
                                   const std::string& name = "freedict-eng-deu");

// Parses one entry body (exposed for tests): returns the first translation
// of the first translation line, cleaned as DictPair::target; "" if none.
// Translation lines follow the headword line and either start at column 0
// or with " [label]" (e.g. " [coll.] Aalmolche <pl>"); indented lines
// (Note:, see:, Synonyms:, quoted examples) are not translations.
std::string FirstTranslation(const std::string& body);

// Decodes a dictd base64 number (alphabet A-Z a-z 0-9 + /, most significant
// digit first, no padding; "B8" = 1*64+60). Throws DataError on an empty
// string, a bad character, or overflow.
int64_t DecodeDictBase64(const std::string& s);

// Pairs whose source is a single lowercase word of letters a-z and whose
// target, lowercased (ASCII plus Ä Ö Ü as UTF-8), is a single word of a-z,
// ä ö ü ß; both with lengths in characters in [min_len, max_len]. Keeps the
// input order (duplicates included).
std::vector<DictPair> SimpleWordPairs(const std::vector<DictPair>& pairs, size_t min_len = 2,
                                      size_t max_len = 12);

}  // namespace effrobust

#endif  // EFFROBUST_DATA_FREEDICT_H_
