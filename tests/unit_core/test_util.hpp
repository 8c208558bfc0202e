// Helpers for the core unit tests: a temporary directory and small file utilities.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace hs::test {

class TempDir {
  public:
    TempDir() {
        std::string tmpl = "/tmp/hs-core-XXXXXX";
        char* p = ::mkdtemp(tmpl.data());
        if (p == nullptr) {
            std::abort();
        }
        path_ = p;
        ::chmod(p, 0755); // tests connect as "nobody" too
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string str(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

inline void writeFile(const std::filesystem::path& p, const std::string& content,
                      mode_t mode = 0600) {
    std::ofstream(p, std::ios::trunc) << content;
    ::chmod(p.c_str(), mode);
}

inline std::string readFile(const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace hs::test
