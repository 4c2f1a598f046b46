// Fuzz test of `effrobust plan`: mutates a few valid experiment files
// deterministically (truncation, wrong types, random bytes, huge numbers,
// nesting thousands of levels deep, duplicate keys, anchors and aliases,
// empty files, binary garbage, very long strings, ...) and runs the real
// binary on each under a timeout. Every file must end with exit 0 (a valid
// plan on stdout) or exit 2 with exactly one "effrobust: ..." line on stderr:
// never a signal, exit 1, an uncaught exception or a hang.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"
#include "tests/support/tiny_model.h"
#include "tests/support/process.h"

namespace effrobust {
namespace {

using test::Slurp;

constexpr uint64_t kFuzzSeed = 20251125;
constexpr int kTimeoutSeconds = 20;
constexpr int kMinFiles = 200;

void Replace(std::string* text, const std::string& from, const std::string& to) {
  for (size_t pos = text->find(from); pos != std::string::npos;
       pos = text->find(from, pos + to.size())) {
    text->replace(pos, from.size(), to);
  }
}

// Valid experiments the mutations start from (@MODEL@ and @OUT@ are filled in).
const std::vector<std::string>& Seeds() {
  static const std::vector<std::string> seeds = {
      R"(name: fuzz-a
seed: 7
output: @OUT@
models:
  - name: tiny
    path: @MODEL@
datasets:
  - name: fashion-mnist
    split: test
    range: [0, 100]
    shard_size: 50
attacks:
  - name: clean
  - name: pgd
    params: {eps: 8/255, step: 0.002, iterations: 3}
)",
      R"(name: fuzz-b
seed: 20250801
output: @OUT@
device: cpu
threads: 1
models: [{name: tiny, path: @MODEL@}]
datasets: [{name: fashion-mnist, split: train, range: [100, 400], shard_size: 100}]
attacks:
  - name: deepsloth
    params:
      norm: [linf, l2]
      eps: [8/255]
defenses:
  - name: none
measure:
  latency_repeats: 1
  latency_warmup: 0
  store_adversarial: false
  batch_size: 32
policy: {max_retries: 1, drain_grace_s: 5, lease_timeout_s: 60, heartbeat_s: 5}
)",
      R"(name: fuzz-c
output: @OUT@
models:
  - &m {name: tiny, path: @MODEL@}
datasets:
  - {name: fashion-mnist, range: [0, 10]}
attacks:
  - name: deepsloth
    params: {norm: l2, eps: &e [0.5, 1.0], lr: *e, iterations: 5}
  - name: clean
defenses: [none]
)",
  };
  return seeds;
}

// One generated file: its bytes and the mutation that made it.
struct Case {
  std::string kind;
  std::string text;
};

// Mutations of a seed, each a function of the seed text and the generator.
class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::vector<Case> Generate(const std::vector<std::string>& seeds, int rounds) {
    using Fn = std::function<std::string(const std::string&)>;
    const std::vector<std::pair<std::string, Fn>> kinds = {
        {"truncate", [&](const std::string& s) { return s.substr(0, Below(s.size() + 1)); }},
        {"wrong-type", [&](const std::string& s) { return ReplaceValue(s, Pick(WrongTypes())); }},
        {"random-bytes", [&](const std::string& s) { return RandomBytes(s); }},
        {"huge-number", [&](const std::string& s) { return ReplaceNumber(s, Pick(BadNumbers())); }},
        {"deep-flow", [&](const std::string& s) { return ReplaceValue(s, DeepFlow()); }},
        {"deep-block", [&](const std::string& s) { return DeepBlock(s); }},
        {"duplicate-line", [&](const std::string& s) { return DuplicateLine(s); }},
        {"alias", [&](const std::string& s) { return Alias(s); }},
        {"long-string", [&](const std::string& s) { return ReplaceValue(s, LongString()); }},
        {"delete-line", [&](const std::string& s) { return DeleteLine(s); }},
        {"swap-chars", [&](const std::string& s) { return SwapChars(s); }},
        {"indent", [&](const std::string& s) { return Reindent(s); }},
    };
    std::vector<Case> cases;
    for (int round = 0; round < rounds; ++round) {
      for (const auto& [name, fn] : kinds) {
        const std::string& seed = seeds[Below(seeds.size())];
        cases.push_back({name, fn(seed)});
      }
    }
    for (auto& c : Fixed()) cases.push_back(std::move(c));
    return cases;
  }

 private:
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }

  static const std::vector<std::string>& WrongTypes() {
    static const std::vector<std::string> v = {"[]",
                                               "{}",
                                               "[1, 2]",
                                               "{a: 1}",
                                               "~",
                                               "null",
                                               "''",
                                               "\"\"",
                                               "true",
                                               "-",
                                               "[[]]",
                                               "{name: x}",
                                               "!!binary aGVsbG8=",
                                               "!!map {}",
                                               "!custom 3",
                                               "? a",
                                               "|\n  block\n  text",
                                               "\"\\x00\\n\\t\"",
                                               "*undefined",
                                               "&anchor",
                                               "@",
                                               "`",
                                               "%YAML 1.2"};
    return v;
  }

  static const std::vector<std::string>& BadNumbers() {
    static const std::vector<std::string> v = {"99999999999999999999999999",
                                               "-99999999999999999999999999",
                                               "9223372036854775807",
                                               "9223372036854775808",
                                               "-9223372036854775809",
                                               "1e400",
                                               "-1e400",
                                               "1e-400",
                                               ".nan",
                                               ".NaN",
                                               "nan",
                                               "NaN",
                                               ".inf",
                                               "-.inf",
                                               "inf",
                                               "Infinity",
                                               "0x7fffffff",
                                               "0o17",
                                               "1_000",
                                               "-1",
                                               "-0",
                                               "0",
                                               "+5",
                                               "3.5",
                                               "1e3",
                                               "8/0",
                                               "0/0",
                                               "-8/255",
                                               "1/-0",
                                               std::string(400, '9'),
                                               "0." + std::string(300, '0') + "1"};
    return v;
  }

  // A value nested thousands of levels deep in flow style.
  std::string DeepFlow() {
    const int depth = 1000 + static_cast<int>(Below(20000));
    switch (Below(4)) {
      case 0:
        return std::string(depth, '[') + std::string(depth, ']');
      case 1: {
        std::string s;
        for (int i = 0; i < depth; ++i) s += "{a: ";
        return s + "1" + std::string(depth, '}');
      }
      case 2:
        return std::string(depth, '[');  // never closed
      default: {
        std::string s;
        for (int i = 0; i < depth; ++i) s += (i % 2 ? "{k: " : "[");
        return s;
      }
    }
  }

  // The seed with a block-style structure thousands of levels deep appended
  // or put in place of a line.
  std::string DeepBlock(const std::string& seed) {
    const int depth = 1000 + static_cast<int>(Below(5000));
    std::string deep;
    switch (Below(3)) {
      case 0:
        for (int i = 0; i < depth; ++i)
          deep += std::string(i, ' ') + "k" + std::to_string(i) + ":\n";
        break;
      case 1:
        for (int i = 0; i < depth; ++i) deep += std::string(i, ' ') + "-\n";
        break;
      default:
        for (int i = 0; i < depth; ++i) deep += "- ";
        deep += "x\n";
    }
    if (Below(2) == 0) return seed + "measure:\n" + deep;
    return "attacks:\n" + deep;
  }

  std::string LongString() {
    const size_t n = 1000 + Below(2000000);
    std::string s(n, 'a' + static_cast<char>(Below(26)));
    if (Below(2) == 0) return "\"" + s + "\"";
    return s;
  }

  // Positions of "key: value" values (after ": ") in `s`.
  std::vector<std::pair<size_t, size_t>> Values(const std::string& s) {
    std::vector<std::pair<size_t, size_t>> spans;
    for (size_t pos = s.find(": "); pos != std::string::npos; pos = s.find(": ", pos + 2)) {
      const size_t begin = pos + 2;
      const size_t end = s.find_first_of(",}\n", begin);
      spans.emplace_back(begin, end == std::string::npos ? s.size() : end);
    }
    return spans;
  }

  std::string ReplaceValue(const std::string& s, const std::string& with) {
    auto spans = Values(s);
    if (spans.empty()) return with;
    auto [b, e] = spans[Below(spans.size())];
    return s.substr(0, b) + with + s.substr(e);
  }

  // Replaces one run of digits (a number in the seed) with `with`.
  std::string ReplaceNumber(const std::string& s, const std::string& with) {
    std::vector<std::pair<size_t, size_t>> runs;
    for (size_t i = 0; i < s.size();) {
      if (isdigit(static_cast<unsigned char>(s[i]))) {
        size_t j = i;
        while (j < s.size() &&
               (isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == '/'))
          ++j;
        runs.emplace_back(i, j);
        i = j;
      } else {
        ++i;
      }
    }
    if (runs.empty()) return s + "seed: " + with + "\n";
    auto [b, e] = runs[Below(runs.size())];
    return s.substr(0, b) + with + s.substr(e);
  }

  std::string RandomBytes(const std::string& s) {
    std::string out = s;
    const size_t n = 1 + Below(40);
    for (size_t i = 0; i < n; ++i) {
      const char c = static_cast<char>(Below(256));
      if (out.empty() || Below(2) == 0) {
        out.insert(out.begin() + static_cast<long>(Below(out.size() + 1)), c);
      } else {
        out[Below(out.size())] = c;
      }
    }
    return out;
  }

  std::vector<std::string> Lines(const std::string& s) {
    std::vector<std::string> lines;
    std::stringstream ss(s);
    for (std::string line; std::getline(ss, line);) lines.push_back(line);
    return lines;
  }

  static std::string Join(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }

  std::string DuplicateLine(const std::string& s) {
    auto lines = Lines(s);
    const size_t i = Below(lines.size());
    lines.insert(lines.begin() + static_cast<long>(i), lines[i]);
    return Join(lines);
  }

  std::string DeleteLine(const std::string& s) {
    auto lines = Lines(s);
    lines.erase(lines.begin() + static_cast<long>(Below(lines.size())));
    return Join(lines);
  }

  std::string Reindent(const std::string& s) {
    auto lines = Lines(s);
    auto& l = lines[Below(lines.size())];
    l = (Below(2) == 0 ? std::string(1 + Below(6), ' ') : std::string("\t")) + l;
    return Join(lines);
  }

  std::string SwapChars(const std::string& s) {
    std::string out = s;
    for (size_t k = 0, n = 1 + Below(5); k < n && out.size() > 1; ++k) {
      std::swap(out[Below(out.size())], out[Below(out.size())]);
    }
    return out;
  }

  std::string Alias(const std::string& s) {
    switch (Below(6)) {
      case 0:  // a value referring to an anchor that does not exist
        return ReplaceValue(s, "*nowhere");
      case 1:  // a list holding itself
        return ReplaceValue(s, "&self [*self, 1]");
      case 2:  // a mapping holding itself
        return ReplaceValue(s, "&me {k: *me}");
      case 3: {  // billion laughs: 9 levels of 9 aliases
        std::string bomb = "lol0: &l0 [lol]\n";
        for (int i = 1; i < 10; ++i) {
          bomb += "lol" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
          for (int j = 0; j < 9; ++j)
            bomb += (j ? ", " : "") + std::string("*l") + std::to_string(i - 1);
          bomb += "]\n";
        }
        return bomb + s;
      }
      case 4: {  // one list aliased into every parameter: a grid of 10^6 settings
        std::string values = "[";
        for (int i = 1; i <= 100; ++i) values += (i > 1 ? ", " : "") + std::to_string(i) + "/1000";
        values += "]";
        std::string t = s;
        Replace(&t, "attacks:\n",
                "attacks:\n  - name: pgd\n    params: {eps: &v " + values +
                    ", step: *v, iterations: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\n");
        return t;
      }
      default: {  // an alias used as a key, and a merge key
        std::string t = s;
        Replace(&t, "seed:", "&k seed:");
        return t + "*k : 3\n<<: {name: other}\n";
      }
    }
  }

  // Files that are wrong as a whole.
  std::vector<Case> Fixed() {
    std::vector<Case> v = {
        {"empty", ""},
        {"whitespace", "   \n\n\t\n"},
        {"comment", "# nothing here\n"},
        {"document-marks", "---\n...\n"},
        {"two-documents", Seeds()[0] + "---\n" + Seeds()[0]},
        {"scalar", "just a string\n"},
        {"list", "- a\n- b\n"},
        {"nul-bytes", std::string("name: a\0b\nseed: 1\n", 18)},
        {"bom", "\xef\xbb\xbf" + Seeds()[0]},
        {"utf16", std::string("\xff\xfen\0a\0m\0e\0:\0 \0x\0", 16)},
        {"invalid-utf8", "name: \xc3\x28\xa0\xa1\n"},
        {"long-key", std::string(100000, 'k') + ": 1\n"},
        {"long-line", "name: " + std::string(3000000, 'x') + "\n"},
        {"many-keys",
         [] {
           std::string s;
           for (int i = 0; i < 50000; ++i)
             s += "k" + std::to_string(i) + ": " + std::to_string(i) + "\n";
           return s;
         }()},
        {"shard-size-1",
         [] {
           std::string s = Seeds()[0];
           Replace(&s, "range: [0, 100]", "range: [0, 10000]");
           Replace(&s, "shard_size: 50", "shard_size: 1");
           Replace(&s, "  - name: clean\n",
                   "  - name: clean\n  - name: pgd\n    params: {iterations: "
                   "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}\n");
           return s;
         }()},
    };
    for (int i = 0; i < 6; ++i) {
      std::string garbage(1 + Below(5000), '\0');
      for (auto& c : garbage) c = static_cast<char>(Below(256));
      v.push_back({"binary-garbage", garbage});
    }
    return v;
  }

  std::mt19937_64 rng_;
};

struct Outcome {
  int status = -1;  // raw wait status from system()
  std::string out, err;
};

class FuzzPlanTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("fuzz");
    WriteTinyModel(dir_->File("m.pt"));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static std::string Fill(std::string text) {
    Replace(&text, "@MODEL@", dir_->File("m.pt"));
    Replace(&text, "@OUT@", dir_->File("out"));
    return text;
  }

  static Outcome Plan(const std::string& name, const std::string& text) {
    const std::string path = dir_->File(name + ".yaml");
    std::ofstream(path, std::ios::binary) << text;
    Outcome o;
    const std::string cmd = "timeout -k 5 " + std::to_string(kTimeoutSeconds) + " " +
                            std::string(EFFROBUST_BINARY) + " plan " + path + " >" + path +
                            ".out 2>" + path + ".err";
    o.status = std::system(cmd.c_str());
    o.out = Slurp(path + ".out");
    o.err = Slurp(path + ".err");
    return o;
  }

  static TempDir* dir_;
};

TempDir* FuzzPlanTest::dir_ = nullptr;

// "" if the outcome is acceptable, else why not.
std::string Judge(const Outcome& o) {
  if (!WIFEXITED(o.status)) return "killed by signal " + std::to_string(WTERMSIG(o.status));
  const int rc = WEXITSTATUS(o.status);
  if (rc == 124 || rc == 137)
    return "hung (timeout after " + std::to_string(kTimeoutSeconds) + " s)";
  if (rc == 0) {
    if (o.out.rfind("experiment '", 0) != 0) return "exit 0 without a plan on stdout";
    return "";
  }
  if (rc != 2)
    return "exit " + std::to_string(rc) +
           (rc > 128 ? " (signal " + std::to_string(rc - 128) + ")" : "");
  if (o.err.rfind("effrobust: ", 0) != 0)
    return "exit 2 but stderr does not start with 'effrobust: '";
  if (o.err.find('\n') != o.err.size() - 1) return "exit 2 but stderr is not exactly one line";
  if (!o.out.empty()) return "exit 2 with output on stdout";
  return "";
}

TEST_F(FuzzPlanTest, SeedsAreValidPlans) {
  for (size_t i = 0; i < Seeds().size(); ++i) {
    Outcome o = Plan("seed" + std::to_string(i), Fill(Seeds()[i]));
    ASSERT_TRUE(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0) << o.err;
  }
}

TEST_F(FuzzPlanTest, EveryMutatedFileGivesAPlanOrOneErrorLineWithExit2) {
  Mutator mutator(kFuzzSeed);
  std::vector<std::string> seeds;
  for (const auto& s : Seeds()) seeds.push_back(Fill(s));
  const std::vector<Case> cases = mutator.Generate(seeds, 15);
  ASSERT_GE(static_cast<int>(cases.size()), kMinFiles);

  std::vector<Outcome> outcomes(cases.size());
  std::atomic<size_t> next{0};
  const unsigned jobs = std::max(2u, std::min(8u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (unsigned j = 0; j < jobs; ++j) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < cases.size(); i = next++) {
        outcomes[i] = Plan("case" + std::to_string(i), cases[i].text);
      }
    });
  }
  for (auto& t : pool) t.join();

  std::map<std::string, std::pair<int, int>> by_kind;  // kind -> (exit 0, exit 2)
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string why = Judge(outcomes[i]);
    EXPECT_EQ(why, "") << "case" << i << " (" << cases[i].kind << ", " << cases[i].text.size()
                       << " bytes, " << dir_->File("case" + std::to_string(i) + ".yaml")
                       << "): stderr: " << outcomes[i].err.substr(0, 600);
    if (WIFEXITED(outcomes[i].status)) {
      auto& counts = by_kind[cases[i].kind];
      (WEXITSTATUS(outcomes[i].status) == 0 ? counts.first : counts.second)++;
    }
  }
  std::string summary;
  for (const auto& [kind, counts] : by_kind) {
    summary +=
        " " + kind + "=" + std::to_string(counts.first) + "/" + std::to_string(counts.second);
  }
  std::printf("%zu files on %u jobs; kind=exit0/exit2:%s\n", cases.size(), jobs, summary.c_str());
}

}  // namespace
}  // namespace effrobust
