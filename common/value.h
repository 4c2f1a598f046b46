// A small ordered key/value document used for canonical serialisation of
// work units and for messages between ranks. Values are numbers or strings;
// keys are kept sorted so that Canonical() is stable. Value type; not
// thread-safe for concurrent mutation.
#ifndef EFFROBUST_COMMON_VALUE_H_
#define EFFROBUST_COMMON_VALUE_H_

#include <map>
#include <string>
#include <variant>

namespace effrobust {

// A scalar: a double or a string. Integers are stored as doubles and
// printed without a fractional part.
using Scalar = std::variant<double, std::string>;

// Shortest decimal text that parses back to exactly `v` ("0.0314", "30").
std::string FormatNumber(double v);

// Text of a scalar as it appears in tables and ids.
std::string ScalarText(const Scalar& s);

// A flat sorted map of scalars.
using ParamMap = std::map<std::string, Scalar>;

// Canonical JSON of a flat map: {"a":1,"b":"x"} with sorted keys, numbers
// via FormatNumber and strings JSON-escaped.
std::string CanonicalJson(const ParamMap& m);

// JSON-escapes `s` and wraps it in quotes.
std::string JsonQuote(const std::string& s);

// `text` as shown inside a one-line message: control characters escaped
// (\n, \t, \r, \xNN) and, if longer than `max_chars`, cut there and marked
// "...(N bytes)". Adds no quotes.
std::string Printable(const std::string& text, size_t max_chars = 80);

// Field access on a parsed map. NumberField and RequiredTextField throw
// Error (layer "common") naming the key if it is absent (or, for
// NumberField, not a number); TextField returns "" for an absent key.
double NumberField(const ParamMap& m, const std::string& key);
std::string RequiredTextField(const ParamMap& m, const std::string& key);
std::string TextField(const ParamMap& m, const std::string& key);

// Parses a flat JSON object as produced by CanonicalJson. Throws Error
// (layer "common") on malformed text.
ParamMap ParseFlatJson(const std::string& text);

}  // namespace effrobust

#endif  // EFFROBUST_COMMON_VALUE_H_
