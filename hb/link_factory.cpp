// makeLink: picks the link implementation for a path type.
#include "hb/link_common.hpp"

namespace hs::hb {

std::unique_ptr<Link> makeLink(asio::io_context& io, const LinkConfig& cfg) {
    switch (cfg.type) {
    case PathType::Udp:
        return detail::makeUdpLink(io, cfg);
    case PathType::Tcp:
        return detail::makeTcpLink(io, cfg);
    case PathType::Serial:
        return detail::makeSerialLink(io, cfg);
    case PathType::Ether:
        return detail::makeEtherLink(io, cfg);
    }
    return nullptr;
}

} // namespace hs::hb
