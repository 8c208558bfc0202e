#include "daemon/reload.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace hs {
namespace {

std::string render(const toml::node& n) {
    std::ostringstream os;
    n.visit([&os](const auto& x) { os << x; });
    return os.str();
}

void diff(const toml::node* a, const toml::node* b, const std::string& key,
          std::vector<std::string>& out) {
    if (a && b && a->is_table() && b->is_table()) {
        std::set<std::string> keys;
        for (auto&& [k, v] : *a->as_table()) {
            keys.insert(std::string(k.str()));
        }
        for (auto&& [k, v] : *b->as_table()) {
            keys.insert(std::string(k.str()));
        }
        for (const std::string& k : keys) {
            diff(a->as_table()->get(k), b->as_table()->get(k),
                 key.empty() ? k : std::string(key).append(".").append(k), out);
        }
        return;
    }
    if (!a || !b || a->type() != b->type() || render(*a) != render(*b)) {
        out.push_back(key);
    }
}

bool isLive(const std::string& key) {
    return std::any_of(std::begin(kLiveKeys), std::end(kLiveKeys), [&key](std::string_view live) {
        return key == live || (key.size() > live.size() && key.compare(0, live.size(), live) == 0 &&
                               key[live.size()] == '.');
    });
}

} // namespace

ReloadDiff diffConfig(const toml::table& running, const toml::table& next) {
    std::vector<std::string> all;
    diff(&running, &next, "", all);
    ReloadDiff d;
    for (std::string& k : all) {
        (isLive(k) ? d.live : d.restartOnly).push_back(std::move(k));
    }
    return d;
}

std::string joinKeys(const std::vector<std::string>& keys) {
    std::string out;
    for (const std::string& k : keys) {
        out += (out.empty() ? "" : ", ") + k;
    }
    return out;
}

} // namespace hs
