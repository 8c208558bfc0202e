// The one place that includes Boost.Asio with the settings this project needs (coroutines on g++ 12
// and clang 14). Include this instead of <boost/asio.hpp>.
#pragma once

#include <utility>
#if defined(__clang__)
#ifndef BOOST_ASIO_HAS_CO_AWAIT
#define BOOST_ASIO_HAS_CO_AWAIT 1
#endif
#ifndef BOOST_ASIO_HAS_STD_COROUTINE
#define BOOST_ASIO_HAS_STD_COROUTINE 1
#endif
#endif
#include <boost/asio.hpp>

namespace hs {
namespace asio = boost::asio;
} // namespace hs
