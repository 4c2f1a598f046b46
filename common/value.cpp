#include "common/value.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/error.h"

namespace effrobust {

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string ScalarText(const Scalar& s) {
  if (std::holds_alternative<double>(s)) return FormatNumber(std::get<double>(s));
  return std::get<std::string>(s);
}

std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string Printable(const std::string& text, size_t max_chars) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == max_chars) {
      out += "...(" + std::to_string(text.size()) + " bytes)";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string CanonicalJson(const ParamMap& m) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out += ",";
    first = false;
    out += JsonQuote(k) + ":";
    if (std::holds_alternative<double>(v)) {
      out += FormatNumber(std::get<double>(v));
    } else {
      out += JsonQuote(std::get<std::string>(v));
    }
  }
  return out + "}";
}

double NumberField(const ParamMap& m, const std::string& key) {
  auto it = m.find(key);
  if (it == m.end() || !std::holds_alternative<double>(it->second)) {
    throw Error("common", "message lacks numeric field '" + key + "'");
  }
  return std::get<double>(it->second);
}

std::string RequiredTextField(const ParamMap& m, const std::string& key) {
  auto it = m.find(key);
  if (it == m.end()) throw Error("common", "message lacks field '" + key + "'");
  return ScalarText(it->second);
}

std::string TextField(const ParamMap& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? "" : ScalarText(it->second);
}

namespace {

class FlatJsonParser {
 public:
  explicit FlatJsonParser(const std::string& t) : t_(t) {}

  ParamMap Parse() {
    ParamMap m;
    Skip();
    Expect('{');
    Skip();
    if (Peek() == '}') {
      ++i_;
      return m;
    }
    while (true) {
      Skip();
      std::string key = String();
      Skip();
      Expect(':');
      Skip();
      if (Peek() == '"') {
        m[key] = String();
      } else {
        m[key] = Number();
      }
      Skip();
      if (Peek() == ',') {
        ++i_;
        continue;
      }
      Expect('}');
      return m;
    }
  }

 private:
  char Peek() const { return i_ < t_.size() ? t_[i_] : '\0'; }
  void Skip() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\t')) ++i_;
  }
  void Fail(const std::string& what) {
    throw Error("common", "malformed JSON at offset " + std::to_string(i_) +
                              ": " + what + " in '" + t_ + "'");
  }
  void Expect(char c) {
    if (Peek() != c) Fail(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string String() {
    Expect('"');
    std::string s;
    while (i_ < t_.size() && t_[i_] != '"') {
      char c = t_[i_++];
      if (c == '\\') {
        if (i_ >= t_.size()) Fail("dangling escape");
        char e = t_[i_++];
        switch (e) {
          case 'n': s += '\n'; break;
          case 't': s += '\t'; break;
          case 'r': s += '\r'; break;
          case 'u': {
            if (i_ + 4 > t_.size()) Fail("short \\u escape");
            s += static_cast<char>(std::strtol(t_.substr(i_, 4).c_str(), nullptr, 16));
            i_ += 4;
            break;
          }
          default: s += e;
        }
      } else {
        s += c;
      }
    }
    Expect('"');
    return s;
  }
  double Number() {
    size_t start = i_;
    while (i_ < t_.size() && t_[i_] != ',' && t_[i_] != '}' && t_[i_] != ' ') ++i_;
    std::string text = t_.substr(start, i_ - start);
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') Fail("bad number '" + text + "'");
    return v;
  }

  const std::string& t_;
  size_t i_ = 0;
};

}  // namespace

ParamMap ParseFlatJson(const std::string& text) { return FlatJsonParser(text).Parse(); }

}  // namespace effrobust
