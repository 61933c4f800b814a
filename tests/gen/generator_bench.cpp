// Generation throughput without any output: `sentrail_gen_bench [count]`.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "gen/generator.h"

int main(int argc, char** argv) {
  sentrail::gen::options o;
  o.count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 5'000'000;
  const auto t0 = std::chrono::steady_clock::now();
  sentrail::gen::generator g(o);
  sentrail::gen::generated e;
  std::size_t bytes = 0;
  while (g.next(e)) bytes += e.payload.size() + 1;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%llu events, %.1f MB in %.3f s: %.2f M events/s, %zu incidents\n",
              static_cast<unsigned long long>(g.emitted()), static_cast<double>(bytes) / 1e6, s,
              static_cast<double>(g.emitted()) / s / 1e6, g.incidents().size());
}
