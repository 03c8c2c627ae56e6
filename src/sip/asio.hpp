// Boost.Asio 1.74 with GCC 12 in C++20 mode needs <utility> before it (see DESIGN.md).
#pragma once

#include <utility>

#include <boost/asio.hpp>
