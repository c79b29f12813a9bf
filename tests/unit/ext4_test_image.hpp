// Test helper: real ext4 images made by mke2fs in a temporary folder.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace vmu::test {

// Runs argv; returns the exit code (127 when it cannot run). Output dropped.
inline int run_quiet(const std::vector<std::string>& argv) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// A temporary folder with a tree and an image made from it.
struct TempImage {
  std::filesystem::path dir;
  std::filesystem::path image;
  explicit TempImage(const std::vector<std::string>& mke2fs_opts = {"-t", "ext4"},
                     const std::string& size = "16M") {
    char tmpl[] = "/tmp/vmu-ext4-test.XXXXXX";
    dir = ::mkdtemp(tmpl);
    std::filesystem::create_directories(dir / "root/etc");
    std::ofstream(dir / "root/etc/environment") << "PATH=/usr/bin\nKEEP=1\n";
    std::ofstream(dir / "root/etc/hostname") << "debian\n";
    image = dir / "img.ext4";
    std::vector<std::string> argv = {"mke2fs", "-q", "-F"};
    argv.insert(argv.end(), mke2fs_opts.begin(), mke2fs_opts.end());
    argv.insert(argv.end(), {"-d", (dir / "root").string(), image.string(), size});
    if (run_quiet(argv) != 0) throw std::runtime_error("mke2fs failed");
  }
  ~TempImage() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  bool fsck_clean() const { return run_quiet({"e2fsck", "-fn", image.string()}) == 0; }
};

}  // namespace vmu::test
