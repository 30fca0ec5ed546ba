#pragma once

// A small HTTP client for calls between the processes of a deployment.

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace signe {

// POSTs a JSON body to an http:// URL; `done(status, body)` (status 0: no answer, within 5 s),
// on `executor`.
void http_post_json(
    boost::asio::any_io_executor executor,
    const std::string& url,
    std::string body,
    std::vector<std::pair<std::string, std::string>> headers,
    std::function<void(int status, std::string body)> done
);

}  // namespace signe
