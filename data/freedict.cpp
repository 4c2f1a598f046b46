#include "data/freedict.h"

#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <utility>

#include "common/error.h"

namespace effrobust {

namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const {
    if (f != nullptr) gzclose(f);
  }
};
using GzPtr = std::unique_ptr<gzFile_s, GzCloser>;

std::string JoinPath(const std::string& dir, const std::string& file) {
  if (dir.empty()) return file;
  if (dir.back() == '/') return dir + file;
  return dir + "/" + file;
}

void ThrowGzError(gzFile f, const std::string& path) {
  int errnum = 0;
  const char* msg = gzerror(f, &errnum);
  throw DataError("cannot decompress '" + path + "': " + (msg != nullptr ? msg : "zlib error"));
}

// The whole decompressed content of a gzip (or dictzip) file.
std::string ReadGzFile(const std::string& path) {
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw DataError("cannot open '" + path + "': file missing or unreadable");
  }
  GzPtr f(gzopen(path.c_str(), "rb"));
  if (!f) throw DataError("cannot open '" + path + "' for reading");
  gzbuffer(f.get(), 1 << 20);
  std::string out;
  constexpr size_t kChunk = size_t{1} << 20;
  while (true) {
    const size_t old = out.size();
    out.resize(old + kChunk);
    const int got = gzread(f.get(), &out[old], static_cast<unsigned>(kChunk));
    if (got < 0) ThrowGzError(f.get(), path);
    out.resize(old + static_cast<size_t>(got));
    if (got == 0) {
      // A truncated stream may only be reported at EOF.
      int errnum = 0;
      gzerror(f.get(), &errnum);
      if (errnum != Z_OK && errnum != Z_STREAM_END) ThrowGzError(f.get(), path);
      break;
    }
  }
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trims and collapses runs of whitespace to one space.
std::string CollapseSpaces(const std::string& s) {
  std::string out;
  bool pending_space = false;
  for (char c : s) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out += ' ';
      pending_space = false;
      out += c;
    }
  }
  return out;
}

// Removes <...> and [...] spans (grammar tags, labels).
std::string StripTags(const std::string& s) {
  std::string out;
  int angle = 0;
  int square = 0;
  for (char c : s) {
    if (c == '<') {
      ++angle;
    } else if (c == '>' && angle > 0) {
      --angle;
      out += ' ';
    } else if (c == '[') {
      ++square;
    } else if (c == ']' && square > 0) {
      --square;
      out += ' ';
    } else if (angle == 0 && square == 0) {
      out += c;
    }
  }
  return out;
}

// First comma-separated item outside parentheses.
std::string FirstItem(const std::string& s) {
  int paren = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(') ++paren;
    if (s[i] == ')' && paren > 0) --paren;
    if (s[i] == ',' && paren == 0) return s.substr(0, i);
  }
  return s;
}

// The headword of an entry body: its first line without " /pronunciation/".
std::string BodyHeadword(const std::string& body) {
  std::string line = body.substr(0, body.find('\n'));
  const size_t pron = line.find(" /");
  if (pron != std::string::npos) line.resize(pron);
  return CollapseSpaces(line);
}

// Splits an index line at tabs.
std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return out;
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Number of UTF-8 code points.
size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

// ASCII tolower plus Ä Ö Ü -> ä ö ü (UTF-8 0xC3 0x84/0x96/0x9C).
std::string LowerGerman(const std::string& s) {
  std::string out = s;
  for (size_t i = 0; i < out.size(); ++i) {
    const unsigned char c = out[i];
    if (c >= 'A' && c <= 'Z') {
      out[i] = static_cast<char>(c - 'A' + 'a');
    } else if (c == 0xC3 && i + 1 < out.size()) {
      const unsigned char next = out[i + 1];
      if (next == 0x84 || next == 0x96 || next == 0x9C) out[i + 1] = static_cast<char>(next + 0x20);
      ++i;
    }
  }
  return out;
}

bool IsAsciiLowerWord(const std::string& s) {
  for (char c : s) {
    if (c < 'a' || c > 'z') return false;
  }
  return !s.empty();
}

// a-z plus ä ö ü ß (UTF-8 0xC3 0xA4/0xB6/0xBC/0x9F).
bool IsGermanLowerWord(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    if (c >= 'a' && c <= 'z') continue;
    if (c != 0xC3 || i + 1 >= s.size()) return false;
    const unsigned char next = s[++i];
    if (next != 0xA4 && next != 0xB6 && next != 0xBC && next != 0x9F) return false;
  }
  return !s.empty();
}

}  // namespace

std::string DefaultFreeDictDir() {
  const char* env = std::getenv("EFFROBUST_FREEDICT_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return "/usr/share/dictd";
}

int64_t DecodeDictBase64(const std::string& s) {
  if (s.empty()) throw DataError("empty dictd base64 number");
  if (s.size() > 10) throw DataError("dictd base64 number '" + s + "' too long");
  int64_t value = 0;
  for (char c : s) {
    int digit;
    if (c >= 'A' && c <= 'Z') {
      digit = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      digit = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      digit = c - '0' + 52;
    } else if (c == '+') {
      digit = 62;
    } else if (c == '/') {
      digit = 63;
    } else {
      throw DataError("bad character '" + std::string(1, c) + "' in dictd base64 number '" + s +
                      "'");
    }
    value = value * 64 + digit;
  }
  return value;
}

std::string FirstTranslation(const std::string& body) {
  size_t pos = body.find('\n');
  while (pos != std::string::npos) {
    const size_t start = pos + 1;
    pos = body.find('\n', start);
    const std::string line = body.substr(start, pos == std::string::npos ? pos : pos - start);
    if (line.empty()) continue;
    const bool column0 = !IsSpace(line[0]);
    const bool labelled = StartsWith(line, " [");
    if (!column0 && !labelled) continue;
    const std::string first = CollapseSpaces(FirstItem(StripTags(line)));
    if (!first.empty()) return first;
  }
  return "";
}

std::vector<DictPair> LoadFreeDict(const std::string& dir, const std::string& name) {
  const std::string index_path = JoinPath(dir, name + ".index");
  const std::string dict_path = JoinPath(dir, name + ".dict.dz");
  std::ifstream index(index_path);
  if (!index) throw DataError("cannot open '" + index_path + "': file missing or unreadable");
  const std::string dict = ReadGzFile(dict_path);

  std::vector<DictPair> out;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(index, line)) {
    ++line_no;
    if (line.empty()) continue;
    const std::string where = "'" + index_path + "' line " + std::to_string(line_no);
    const std::vector<std::string> fields = SplitTabs(line);
    if (fields.size() != 3) {
      throw DataError("bad index line in " + where + ": expected 3 tab-separated fields, got " +
                      std::to_string(fields.size()));
    }
    const std::string& headword = fields[0];
    if (headword.empty() || StartsWith(headword, "00database") ||
        StartsWith(headword, "00-database")) {
      continue;
    }
    int64_t offset = 0;
    int64_t length = 0;
    try {
      offset = DecodeDictBase64(fields[1]);
      length = DecodeDictBase64(fields[2]);
    } catch (const DataError& e) {
      throw DataError("bad index line in " + where + ": " + e.what());
    }
    if (offset + length > static_cast<int64_t>(dict.size())) {
      throw DataError("bad index line in " + where + ": byte range " + std::to_string(offset) +
                      "+" + std::to_string(length) + " beyond the " + std::to_string(dict.size()) +
                      " bytes of '" + dict_path + "'");
    }
    const std::string body = dict.substr(static_cast<size_t>(offset), static_cast<size_t>(length));
    DictPair pair{BodyHeadword(body), FirstTranslation(body)};
    if (pair.source.empty() || pair.target.empty()) continue;
    out.push_back(std::move(pair));
  }
  if (index.bad()) throw DataError("error reading '" + index_path + "'");
  return out;
}

std::vector<DictPair> SimpleWordPairs(const std::vector<DictPair>& pairs, size_t min_len,
                                      size_t max_len) {
  std::vector<DictPair> out;
  for (const DictPair& p : pairs) {
    if (!IsAsciiLowerWord(p.source)) continue;
    if (p.source.size() < min_len || p.source.size() > max_len) continue;
    std::string target = LowerGerman(p.target);
    if (!IsGermanLowerWord(target)) continue;
    const size_t len = Utf8Length(target);
    if (len < min_len || len > max_len) continue;
    out.push_back({p.source, std::move(target)});
  }
  return out;
}

}  // namespace effrobust
