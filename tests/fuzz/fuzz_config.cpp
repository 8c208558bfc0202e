// libFuzzer target: the configuration's checks (core/config) on any TOML document. The input's
// node.state_dir and node.key_file are replaced by private paths made here, so no input can make
// the checks create or open a file elsewhere. Keys the input leaves out come from a minimal valid
// configuration. Accepted or refused with a ConfigError, nothing else.
#include "base/config_error.hpp"
#include "core/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

struct Sandbox {
    std::string dir;
    std::string stateDir;
    std::string keyFile;
    Sandbox() {
        char tmpl[] = "/tmp/fuzz_config.XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) {
            std::abort();
        }
        dir = tmpl;
        stateDir = dir + "/state";
        keyFile = dir + "/key";
        int fd = ::open(keyFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const std::string key(64, 'a'); // 32 bytes in hex
        if (fd < 0 || ::write(fd, key.data(), key.size()) != static_cast<ssize_t>(key.size())) {
            std::abort();
        }
        ::close(fd);
    }
    ~Sandbox() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Sandbox box;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    toml::table root;
    try {
        root = toml::parse(text, std::string_view("fuzz.toml"));
    } catch (const toml::parse_error&) {
        return 0;
    }
    // What the input leaves out comes from a minimal valid configuration, so most inputs reach
    // the checks of the keys they do set.
    static const toml::table base = toml::parse(R"(
[node]
id = 1
slot = 0
cluster_id = "fuzz"
[[path]]
name = "net0"
type = "udp"
local = "127.0.0.1:7400"
peer = "127.0.0.2:7400"
)");
    if (!root.contains("node")) {
        root.insert("node", *base["node"].as_table());
    } else if (toml::table* node = root["node"].as_table()) {
        for (const auto& [k, v] : *base["node"].as_table()) {
            if (!node->contains(k.str())) {
                node->insert(k, v);
            }
        }
    }
    if (!root.contains("path")) {
        root.insert("path", *base["path"].as_array());
    }
    if (toml::table* node = root["node"].as_table()) {
        node->insert_or_assign("state_dir", box.stateDir);
        node->insert_or_assign("key_file", box.keyFile);
    }
    try {
        hs::Config cfg = hs::parseConfig(root, "fuzz.toml");
        if (cfg.paths.empty()) {
            std::abort(); // an accepted configuration has at least one path
        }
    } catch (const hs::ConfigError&) {
    }
    return 0;
}
