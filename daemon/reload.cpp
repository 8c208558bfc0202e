#include "daemon/reload.hpp"

#include <algorithm>
#include <fmt/core.h>
#include <set>
#include <sstream>

namespace hs {
namespace {

std::string render(const toml::node& n) {
    std::ostringstream os;
    n.visit([&os](const auto& x) { os << x; });
    return os.str();
}

// "chassis.zone[1].curve" -> "chassis.zone.curve"
std::string withoutIndices(const std::string& key) {
    std::string out;
    for (std::size_t i = 0; i < key.size(); ++i) {
        if (key[i] == '[') {
            i = key.find(']', i);
            if (i == std::string::npos) {
                break;
            }
            continue;
        }
        out.push_back(key[i]);
    }
    return out;
}

// An array of tables whose members have live keys ([[chassis.zone]]) is compared member by member.
bool hasLiveMembers(const std::string& key) {
    std::string prefix = withoutIndices(key) + ".";
    return std::any_of(std::begin(kLiveKeys), std::end(kLiveKeys),
                       [&prefix](std::string_view live) { return live.rfind(prefix, 0) == 0; });
}

void diff(const toml::node* a, const toml::node* b, const std::string& key,
          std::vector<std::string>& out) {
    if (a && b && a->is_array_of_tables() && b->is_array_of_tables() &&
        a->as_array()->size() == b->as_array()->size() && hasLiveMembers(key)) {
        for (std::size_t i = 0; i < a->as_array()->size(); ++i) {
            diff(a->as_array()->get(i), b->as_array()->get(i), fmt::format("{}[{}]", key, i), out);
        }
        return;
    }
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

} // namespace

bool isLiveKey(const std::string& name) {
    std::string key = withoutIndices(name);
    return std::any_of(std::begin(kLiveKeys), std::end(kLiveKeys), [&key](std::string_view live) {
        return key == live || (key.size() > live.size() && key.compare(0, live.size(), live) == 0 &&
                               key[live.size()] == '.');
    });
}

ReloadDiff diffConfig(const toml::table& running, const toml::table& next) {
    std::vector<std::string> all;
    diff(&running, &next, "", all);
    ReloadDiff d;
    for (std::string& k : all) {
        (isLiveKey(k) ? d.live : d.restartOnly).push_back(std::move(k));
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
