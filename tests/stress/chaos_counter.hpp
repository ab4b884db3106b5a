// The chaos suite's counter file, shared by the driver (chaos.cpp) and the
// worker (chaos_worker.cpp): "VALUE WRITER\n", where WRITER names the run
// that wrote VALUE. Anything else (empty, torn, two lines) is not parsed.
#pragma once

#include <cstdio>
#include <string>

namespace plock::test::chaos {

struct CounterText {
    bool parsed = false;
    long long value = 0;
    std::string writer;
};

inline CounterText parse_counter(const std::string& text) {
    CounterText counter;
    char writer[64] = {};
    long long value = 0;
    char tail = 0;
    if (!text.empty() && text.back() == '\n' &&
        std::sscanf(text.c_str(), "%lld %63s%c", &value, writer, &tail) == 3 && tail == '\n' && value >= 0) {
        counter.parsed = true;
        counter.value = value;
        counter.writer = writer;
    }
    return counter;
}

}  // namespace plock::test::chaos
