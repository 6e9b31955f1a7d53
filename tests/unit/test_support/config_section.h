#ifndef EROOM_TESTS_UNIT_TEST_SUPPORT_CONFIG_SECTION_H_
#define EROOM_TESTS_UNIT_TEST_SUPPORT_CONFIG_SECTION_H_

#include <string>

#include "common/config_reader.h"
#include "yaml-cpp/yaml.h"

namespace eroom::test_support {

// Reads section `key` of the YAML document `yaml` with `parse` (called
// with the section's ConfigMap) and then reports the section's unknown
// keys, as a real config file's reader does; problems go to `problems`.
template <typename Parse>
auto ParseConfigSection(const std::string& yaml, const std::string& key,
                        ConfigProblems& problems, Parse parse) {
  ConfigMap root(YAML::Load(yaml), "", &problems);
  ConfigMap section = root.Map(key);
  auto parsed = parse(section);
  section.Finish();
  return parsed;
}

}  // namespace eroom::test_support

#endif  // EROOM_TESTS_UNIT_TEST_SUPPORT_CONFIG_SECTION_H_
