// Makes the scripted captioners of tests/support/make_torchscript_captioner.py
// for the unit and integration tests: writes the training scenes it reads
// (the first `scenes` scenes of fashion-mnist-scenes' train split, the
// scenes the built-in captioner trains on, with their "counts" phrasing) and
// runs it with Debian's /usr/bin/python3 (python3-torch). Header-only test
// support; needs EFFROBUST_SOURCE_ROOT defined and links effrobust_scenes.
#ifndef EFFROBUST_TESTS_SUPPORT_SCRIPTED_CAPTIONER_H_
#define EFFROBUST_TESTS_SUPPORT_SCRIPTED_CAPTIONER_H_

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/fashion_mnist.h"
#include "data/scenes.h"
#include "tests/support/scripted_models.h"

namespace effrobust {
namespace test {

// Writes `dir`/scenes.u8 (scenes x 64 x 64 bytes) and `dir`/captions.txt
// (one caption a line). Returns false if Fashion-MNIST is not installed.
inline bool WriteSceneCaptions(const std::string& dir, int64_t scenes) {
  const std::string fmnist = DefaultFashionMnistDir();
  if (!std::filesystem::exists(fmnist + "/train-images-idx3-ubyte.gz")) return false;
  const ImageSet train = LoadFashionMnist(fmnist, "train");
  const SceneGenerator generator(train, kSceneTrainSeed);
  std::ofstream pixels(dir + "/scenes.u8", std::ios::binary);
  std::ofstream captions(dir + "/captions.txt");
  for (int64_t i = 0; i < scenes; ++i) {
    const Scene s = generator.Make(i);
    pixels.write(reinterpret_cast<const char*>(s.pixels.data()),
                 static_cast<std::streamsize>(s.pixels.size()));
    captions << CaptionsFor(s.items, s.size)[0] << "\n";
  }
  return pixels.good() && captions.good();
}

// Runs make_torchscript_captioner.py into `dir` (log in `dir`/make.log),
// trained on `scenes` written scenes if scenes > 0 and Fashion-MNIST is
// installed (else for a second on random images). Returns whether it
// succeeded.
inline bool MakeScriptedCaptioners(const std::string& dir, int64_t scenes) {
  const bool data = scenes > 0 && WriteSceneCaptions(dir, scenes);
  return RunModelScript("make_torchscript_captioner.py", dir, data ? dir : std::string(),
                        dir + "/make.log");
}

}  // namespace test
}  // namespace effrobust

#endif  // EFFROBUST_TESTS_SUPPORT_SCRIPTED_CAPTIONER_H_
