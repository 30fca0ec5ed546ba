// Asio and Beast compiled once, for every target that links signe::server
// (BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION are public definitions).

#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
