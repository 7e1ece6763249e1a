// A small streaming JSON writer (objects, arrays, strings, numbers, booleans), indented two spaces.
// Non-finite numbers are written as null, which JSON lacks a number for.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace upsample::bench {

class JsonWriter {
 public:
  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  // The key of the next value in the current object.
  JsonWriter& key(const std::string& name) {
    separate();
    append_string(name);
    text_ += ": ";
    after_key_ = true;
    return *this;
  }

  void value(const std::string& v) {
    scalar([&] { append_string(v); });
  }
  void value(const char* v) { value(std::string(v)); }
  void value(bool v) {
    scalar([&] { text_ += v ? "true" : "false"; });
  }
  void value(int v) { value(static_cast<int64_t>(v)); }
  void value(int64_t v) {
    scalar([&] { text_ += std::to_string(v); });
  }
  void value(uint64_t v) {
    scalar([&] { text_ += std::to_string(v); });
  }
  void value(double v) {
    scalar([&] {
      if (!std::isfinite(v)) {
        text_ += "null";
        return;
      }
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.10g", v);
      text_ += buffer;
    });
  }
  void null() {
    scalar([&] { text_ += "null"; });
  }

  template <typename T>
  void field(const std::string& name, const T& v) {
    key(name).value(v);
  }

  const std::string& text() const { return text_; }

 private:
  // A comma before every element but the first of its container, then a newline and indentation.
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) text_ += ',';
      first_.back() = false;
      text_ += '\n';
      text_.append(2 * first_.size(), ' ');
    }
  }
  template <typename Append>
  void scalar(Append append) {
    separate();
    append();
  }
  void open(char bracket) {
    separate();
    text_ += bracket;
    first_.push_back(true);
  }
  void close(char bracket) {
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) {
      text_ += '\n';
      text_.append(2 * first_.size(), ' ');
    }
    text_ += bracket;
  }
  void append_string(const std::string& s) {
    text_ += '"';
    for (const char ch : s) {
      switch (ch) {
        case '"':
          text_ += "\\\"";
          break;
        case '\\':
          text_ += "\\\\";
          break;
        case '\n':
          text_ += "\\n";
          break;
        case '\t':
          text_ += "\\t";
          break;
        default:
          if (static_cast<unsigned char>(ch) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(ch)));
            text_ += buffer;
          } else {
            text_ += ch;
          }
      }
    }
    text_ += '"';
  }

  std::string text_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace upsample::bench
