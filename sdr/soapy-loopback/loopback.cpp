// ranlab's loopback SoapySDR device (driver key "ranlab_loopback").
//
// A radio without hardware for CI: each TX channel feeds the RX channel with
// the same index through a timestamped buffer. A burst lands at its scheduled
// device time, overlapping bursts add, gaps read as zeros. A timed burst whose
// time has already been read out is dropped and reported as a time error
// (SOAPY_SDR_TIME_ERROR through readStreamStatus, as UHD reports a late
// packet); an open burst that runs dry while RX reads past its end is an
// underflow; end of burst is acknowledged with SOAPY_SDR_END_BURST.
//
// Device time is counted in samples and reported in nanoseconds. In "free"
// mode it advances only as RX is read (deterministic); in "realtime" mode it
// follows the host's steady clock at the sample rate, RX reads wait for
// their samples, and a reader that falls further behind than the buffer
// holds gets an overflow.
//
// Device args: channels (default 2), rate (initial sample rate, 1.92e6),
// mode=free|realtime, time=1|0 (whether the device has hardware time),
// capacity (samples held per channel, default 2^20), mtu (default 4096),
// extref=1|0 (whether a reference is present when clock source "external" is
// selected; the "ref_locked" sensor reports it), serial (tells devices apart).
// link=NAME joins devices: opening a second device with the same link name
// (other args may differ, e.g. serial=ue / serial=gnb) gives the same
// device, so one handle's TX channels feed the other's RX channels through
// one buffer and one clock, as two boards cabled together on a shared
// time source would.
// Setting "inject_overflow"=N drops N RX samples, as a host stall would;
// device args overflow_every=P,overflow_len=N (samples) drop N samples
// after every P samples read, for runs that must survive overflows.

#include <SoapySDR/Device.hpp>
#include <SoapySDR/Errors.hpp>
#include <SoapySDR/Formats.hpp>
#include <SoapySDR/Registry.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using cf32 = std::complex<float>;

const char *kDriver = "ranlab_loopback";

struct Status {
  int ret;
  int flags;
  long long time_ns;
  size_t chan_mask;
};

struct LoopStream {
  int direction;
  bool cs16;
  std::vector<size_t> channels;
  bool active = false;
};

std::string arg(const SoapySDR::Kwargs &a, const std::string &k,
                const std::string &dflt) {
  auto it = a.find(k);
  return it == a.end() ? dflt : it->second;
}

class Loopback : public SoapySDR::Device {
public:
  explicit Loopback(const SoapySDR::Kwargs &args) {
    nchan_ = std::stoul(arg(args, "channels", "2"));
    if (nchan_ == 0 || nchan_ > 8)
      throw std::runtime_error("ranlab_loopback: channels must be 1..8");
    rate_ = std::stod(arg(args, "rate", "1.92e6"));
    realtime_ = arg(args, "mode", "free") == "realtime";
    has_time_ = arg(args, "time", "1") != "0";
    capacity_ = std::stoul(arg(args, "capacity", "1048576"));
    mtu_ = std::stoul(arg(args, "mtu", "4096"));
    extref_ = arg(args, "extref", "1") != "0";
    serial_ = arg(args, "serial", "0");
    overflow_every_ = std::stoll(arg(args, "overflow_every", "0"));
    overflow_len_ = std::stoll(arg(args, "overflow_len", "1000"));
    if (overflow_every_ < 0 || overflow_len_ < 1)
      throw std::runtime_error("ranlab_loopback: bad overflow_every or overflow_len");
    next_overflow_ = overflow_every_;
    if (capacity_ < 16 || mtu_ == 0)
      throw std::runtime_error("ranlab_loopback: bad capacity or mtu");
    ring_.assign(nchan_, std::vector<cf32>(capacity_));
    rx_gain_.assign(nchan_, 0.0);
    tx_gain_.assign(nchan_, 0.0);
    rx_bw_.assign(nchan_, rate_);
    tx_bw_.assign(nchan_, rate_);
    rx_freq_.assign(nchan_, 1e9);
    tx_freq_.assign(nchan_, 1e9);
    base_wall_ = Clock::now();
    base_ticks_ = 0;
  }

  // Identification --------------------------------------------------------
  std::string getDriverKey() const override { return kDriver; }
  std::string getHardwareKey() const override { return "ranlab-loopback"; }
  SoapySDR::Kwargs getHardwareInfo() const override {
    return {{"serial", serial_},
            {"mode", realtime_ ? "realtime" : "free"},
            {"capacity", std::to_string(capacity_)}};
  }
  size_t getNumChannels(const int) const override { return nchan_; }
  bool getFullDuplex(const int, const size_t) const override { return true; }

  // Streams ---------------------------------------------------------------
  std::vector<std::string> getStreamFormats(const int,
                                            const size_t) const override {
    return {SOAPY_SDR_CS16, SOAPY_SDR_CF32};
  }
  std::string getNativeStreamFormat(const int, const size_t,
                                    double &full_scale) const override {
    full_scale = 32767.0;
    return SOAPY_SDR_CS16;
  }

  SoapySDR::Stream *setupStream(const int direction, const std::string &format,
                                const std::vector<size_t> &channels,
                                const SoapySDR::Kwargs &) override {
    if (format != SOAPY_SDR_CS16 && format != SOAPY_SDR_CF32)
      throw std::runtime_error("ranlab_loopback: format must be CS16 or CF32");
    auto *s = new LoopStream;
    s->direction = direction;
    s->cs16 = format == SOAPY_SDR_CS16;
    s->channels = channels.empty() ? std::vector<size_t>{0} : channels;
    for (size_t c : s->channels)
      if (c >= nchan_) {
        delete s;
        throw std::runtime_error("ranlab_loopback: no such channel");
      }
    return reinterpret_cast<SoapySDR::Stream *>(s);
  }

  void closeStream(SoapySDR::Stream *stream) override {
    delete reinterpret_cast<LoopStream *>(stream);
  }

  size_t getStreamMTU(SoapySDR::Stream *) const override { return mtu_; }

  int activateStream(SoapySDR::Stream *stream, const int, const long long,
                     const size_t) override {
    std::lock_guard<std::mutex> g(mu_);
    auto *s = reinterpret_cast<LoopStream *>(stream);
    s->active = true;
    // RX starts at the device time now: what was scheduled before is read
    // from here on, what lies in the past is gone.
    if (s->direction == SOAPY_SDR_RX && realtime_)
      advance_to(now_ticks());
    return 0;
  }

  int deactivateStream(SoapySDR::Stream *stream, const int, const long long) override {
    std::lock_guard<std::mutex> g(mu_);
    reinterpret_cast<LoopStream *>(stream)->active = false;
    return 0;
  }

  int readStream(SoapySDR::Stream *stream, void *const *buffs,
                 const size_t num_elems, int &flags, long long &time_ns,
                 const long timeout_us) override {
    auto *s = reinterpret_cast<LoopStream *>(stream);
    if (s->direction != SOAPY_SDR_RX)
      return SOAPY_SDR_NOT_SUPPORTED;
    std::unique_lock<std::mutex> g(mu_);
    if (!s->active)
      return SOAPY_SDR_STREAM_ERROR;
    flags = 0;
    if (overflow_every_ > 0 && read_ticks_ >= next_overflow_) {
      inject_drop_ += overflow_len_;
      next_overflow_ = read_ticks_ + overflow_len_ + overflow_every_;
    }
    if (inject_drop_ > 0) {
      advance_to(read_ticks_ + inject_drop_);
      inject_drop_ = 0;
      return overflow(flags, time_ns);
    }
    size_t n = std::min(num_elems, mtu_);
    if (realtime_) {
      long long now = now_ticks();
      if (now - read_ticks_ > (long long)capacity_) {
        advance_to(now);
        return overflow(flags, time_ns);
      }
      auto deadline = Clock::now() + std::chrono::microseconds(timeout_us);
      while (now < read_ticks_ + (long long)n) {
        auto wake = base_wall_ + ticks_to_duration(read_ticks_ + n - base_ticks_);
        if (wake > deadline) {
          if (now > read_ticks_)
            break; // return what has arrived
          g.unlock();
          std::this_thread::sleep_until(deadline);
          return SOAPY_SDR_TIMEOUT;
        }
        g.unlock();
        std::this_thread::sleep_until(wake);
        g.lock();
        now = now_ticks();
      }
      n = std::min<long long>(n, now - read_ticks_);
    }
    for (size_t i = 0; i < s->channels.size(); i++)
      copy_out(s->channels[i], s->cs16, buffs[i], n);
    if (has_time_)
      flags |= SOAPY_SDR_HAS_TIME;
    time_ns = ticks_to_ns(read_ticks_);
    advance_to(read_ticks_ + n, /*already_copied=*/true);
    return (int)n;
  }

  int writeStream(SoapySDR::Stream *stream, const void *const *buffs,
                  const size_t num_elems, int &flags, const long long time_ns,
                  const long timeout_us) override {
    auto *s = reinterpret_cast<LoopStream *>(stream);
    if (s->direction != SOAPY_SDR_TX)
      return SOAPY_SDR_NOT_SUPPORTED;
    std::unique_lock<std::mutex> g(mu_);
    if (!s->active)
      return SOAPY_SDR_STREAM_ERROR;
    const bool timed = (flags & SOAPY_SDR_HAS_TIME) != 0;
    const bool eob = (flags & SOAPY_SDR_END_BURST) != 0;
    long long start;
    if (timed) {
      start = ns_to_ticks(time_ns);
      burst_dropped_ = false;
      underflowed_ = false;
      if (start < read_ticks_) {
        // Too late: the slot it was meant for has been read out.
        burst_dropped_ = true;
        push_status({SOAPY_SDR_TIME_ERROR, SOAPY_SDR_HAS_TIME, time_ns,
                     mask(s)});
      }
    } else if (burst_open_) {
      start = tx_next_;
    } else {
      start = realtime_ ? std::max(now_ticks(), read_ticks_) : read_ticks_;
      burst_dropped_ = false;
      underflowed_ = false;
    }
    burst_open_ = !eob;
    if (burst_dropped_) {
      if (eob)
        burst_dropped_ = false;
      return (int)num_elems;
    }
    // Wait for room: the buffer drains only as RX reads.
    auto deadline = Clock::now() + std::chrono::microseconds(timeout_us);
    size_t n = num_elems;
    while (start - read_ticks_ + 1 > (long long)capacity_) {
      if (cv_.wait_until(g, deadline) == std::cv_status::timeout)
        return SOAPY_SDR_TIMEOUT;
    }
    size_t room = (size_t)(capacity_ - (start - read_ticks_));
    if (n > room) {
      n = room;
      burst_open_ = true; // the caller sends the rest (and the flag) again
    }
    for (size_t i = 0; i < s->channels.size(); i++)
      place(s->channels[i], s->cs16, buffs[i], start, n);
    tx_next_ = start + (long long)n;
    if (!burst_open_)
      push_status({0, SOAPY_SDR_END_BURST | SOAPY_SDR_HAS_TIME,
                   ticks_to_ns(tx_next_), mask(s)});
    flags = 0;
    return (int)n;
  }

  int readStreamStatus(SoapySDR::Stream *stream, size_t &chan_mask, int &flags,
                       long long &time_ns, const long timeout_us) override {
    auto *s = reinterpret_cast<LoopStream *>(stream);
    if (s->direction != SOAPY_SDR_TX)
      return SOAPY_SDR_NOT_SUPPORTED;
    std::unique_lock<std::mutex> g(mu_);
    auto deadline = Clock::now() + std::chrono::microseconds(timeout_us);
    while (status_.empty()) {
      if (timeout_us <= 0 ||
          cv_.wait_until(g, deadline) == std::cv_status::timeout) {
        if (status_.empty())
          return SOAPY_SDR_TIMEOUT;
      }
    }
    Status st = status_.front();
    status_.pop_front();
    chan_mask = st.chan_mask;
    flags = st.flags;
    time_ns = st.time_ns;
    return st.ret;
  }

  // Front end settings: stored and reported, not applied to the samples ----
  std::vector<std::string> listAntennas(const int, const size_t) const override {
    return {"LOOP"};
  }
  void setAntenna(const int, const size_t, const std::string &name) override {
    if (name != "LOOP")
      throw std::runtime_error("ranlab_loopback: no antenna " + name);
  }
  std::string getAntenna(const int, const size_t) const override { return "LOOP"; }

  std::vector<std::string> listGains(const int, const size_t) const override {
    return {"LOOP"};
  }
  void setGain(const int dir, const size_t ch, const double value) override {
    std::lock_guard<std::mutex> g(mu_);
    (dir == SOAPY_SDR_RX ? rx_gain_ : tx_gain_).at(ch) = value;
  }
  double getGain(const int dir, const size_t ch) const override {
    std::lock_guard<std::mutex> g(mu_);
    return (dir == SOAPY_SDR_RX ? rx_gain_ : tx_gain_).at(ch);
  }
  SoapySDR::Range getGainRange(const int dir, const size_t) const override {
    return dir == SOAPY_SDR_RX ? SoapySDR::Range(0.0, 76.0, 1.0)
                               : SoapySDR::Range(0.0, 89.75, 0.25);
  }

  void setFrequency(const int dir, const size_t ch, const double f,
                    const SoapySDR::Kwargs &) override {
    std::lock_guard<std::mutex> g(mu_);
    (dir == SOAPY_SDR_RX ? rx_freq_ : tx_freq_).at(ch) = f;
  }
  double getFrequency(const int dir, const size_t ch) const override {
    std::lock_guard<std::mutex> g(mu_);
    return (dir == SOAPY_SDR_RX ? rx_freq_ : tx_freq_).at(ch);
  }
  SoapySDR::RangeList getFrequencyRange(const int, const size_t) const override {
    return {SoapySDR::Range(70e6, 6e9)};
  }

  void setSampleRate(const int, const size_t, const double rate) override {
    std::lock_guard<std::mutex> g(mu_);
    if (rate == rate_)
      return;
    // One clock for all channels: keep the device time, relabel it in ticks
    // of the new rate and forget what was scheduled.
    long long ns = ticks_to_ns(realtime_ ? now_ticks() : read_ticks_);
    rate_ = rate;
    reset_time(ns_to_ticks(ns));
  }
  double getSampleRate(const int, const size_t) const override {
    std::lock_guard<std::mutex> g(mu_);
    return rate_;
  }
  SoapySDR::RangeList getSampleRateRange(const int, const size_t) const override {
    return {SoapySDR::Range(0.96e6, 61.44e6)};
  }

  void setBandwidth(const int dir, const size_t ch, const double bw) override {
    std::lock_guard<std::mutex> g(mu_);
    (dir == SOAPY_SDR_RX ? rx_bw_ : tx_bw_).at(ch) = bw;
  }
  double getBandwidth(const int dir, const size_t ch) const override {
    std::lock_guard<std::mutex> g(mu_);
    return (dir == SOAPY_SDR_RX ? rx_bw_ : tx_bw_).at(ch);
  }
  SoapySDR::RangeList getBandwidthRange(const int, const size_t) const override {
    return {SoapySDR::Range(0.2e6, 56e6)};
  }

  void setMasterClockRate(const double rate) override {
    if (rate < 1e6 || rate > 61.44e6)
      throw std::runtime_error("ranlab_loopback: master clock out of range");
    std::lock_guard<std::mutex> g(mu_);
    master_ = rate;
  }
  double getMasterClockRate() const override {
    std::lock_guard<std::mutex> g(mu_);
    return master_;
  }
  SoapySDR::RangeList getMasterClockRates() const override {
    return {SoapySDR::Range(1e6, 61.44e6)};
  }

  std::vector<std::string> listClockSources() const override {
    return {"internal", "external"};
  }
  void setClockSource(const std::string &src) override {
    if (src != "internal" && src != "external")
      throw std::runtime_error("ranlab_loopback: no clock source " + src);
    std::lock_guard<std::mutex> g(mu_);
    clock_src_ = src;
  }
  std::string getClockSource() const override {
    std::lock_guard<std::mutex> g(mu_);
    return clock_src_;
  }
  std::vector<std::string> listTimeSources() const override {
    return {"internal", "external"};
  }
  void setTimeSource(const std::string &src) override {
    if (src != "internal" && src != "external")
      throw std::runtime_error("ranlab_loopback: no time source " + src);
    std::lock_guard<std::mutex> g(mu_);
    time_src_ = src;
  }
  std::string getTimeSource() const override {
    std::lock_guard<std::mutex> g(mu_);
    return time_src_;
  }

  std::vector<std::string> listSensors() const override { return {"ref_locked"}; }
  std::string readSensor(const std::string &key) const override {
    std::lock_guard<std::mutex> g(mu_);
    if (key == "ref_locked")
      return clock_src_ == "internal" || extref_ ? "true" : "false";
    throw std::runtime_error("ranlab_loopback: no sensor " + key);
  }

  // Time -------------------------------------------------------------------
  bool hasHardwareTime(const std::string &what) const override {
    return has_time_ && what.empty();
  }
  long long getHardwareTime(const std::string &) const override {
    std::lock_guard<std::mutex> g(mu_);
    return ticks_to_ns(realtime_ ? std::max(now_ticks(), read_ticks_) : read_ticks_);
  }
  void setHardwareTime(const long long time_ns, const std::string &) override {
    std::lock_guard<std::mutex> g(mu_);
    reset_time(ns_to_ticks(time_ns));
  }

  void writeSetting(const std::string &key, const std::string &value) override {
    std::lock_guard<std::mutex> g(mu_);
    if (key == "inject_overflow")
      inject_drop_ = std::stoll(value);
    else
      throw std::runtime_error("ranlab_loopback: no setting " + key);
  }

private:
  long long ns_to_ticks(long long ns) const {
    return std::llround((long double)ns * (long double)rate_ / 1e9L);
  }
  long long ticks_to_ns(long long t) const {
    return std::llround((long double)t * 1e9L / (long double)rate_);
  }
  Clock::duration ticks_to_duration(long long t) const {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<long double>((long double)t / (long double)rate_));
  }
  long long now_ticks() const {
    auto dt = std::chrono::duration<long double>(Clock::now() - base_wall_);
    return base_ticks_ + (long long)std::floor(dt.count() * (long double)rate_);
  }
  size_t mask(const LoopStream *s) const {
    size_t m = 0;
    for (size_t c : s->channels)
      m |= size_t(1) << c;
    return m;
  }
  void push_status(Status st) {
    status_.push_back(st);
    cv_.notify_all();
  }
  int overflow(int &flags, long long &time_ns) {
    flags = has_time_ ? SOAPY_SDR_HAS_TIME : 0;
    time_ns = ticks_to_ns(read_ticks_);
    return SOAPY_SDR_OVERFLOW;
  }
  void reset_time(long long ticks) {
    for (auto &r : ring_)
      std::fill(r.begin(), r.end(), cf32());
    read_ticks_ = ticks;
    base_ticks_ = ticks;
    next_overflow_ = ticks + overflow_every_;
    base_wall_ = Clock::now();
    burst_open_ = false;
    burst_dropped_ = false;
    status_.clear();
  }

  // Moves the read position to `t`, clearing what it passes (unless the
  // caller has copied it out already, which also clears). An open burst
  // whose samples ran out before `t` underflows, once per burst.
  void advance_to(long long t, bool already_copied = false) {
    if (t <= read_ticks_)
      return;
    if (!already_copied) {
      long long n = std::min<long long>(t - read_ticks_, capacity_);
      for (auto &r : ring_)
        for (long long i = 0; i < n; i++)
          r[(head_ + i) % capacity_] = cf32();
    }
    head_ = (size_t)((head_ + (t - read_ticks_)) % capacity_);
    read_ticks_ = t;
    if (burst_open_ && !burst_dropped_ && tx_next_ < read_ticks_) {
      if (!underflowed_)
        push_status({SOAPY_SDR_UNDERFLOW, SOAPY_SDR_HAS_TIME,
                     ticks_to_ns(tx_next_), 0});
      underflowed_ = true;
      tx_next_ = read_ticks_; // the rest of the burst goes out late
    }
    cv_.notify_all();
  }

  void copy_out(size_t ch, bool cs16, void *dst, size_t n) {
    auto &r = ring_[ch];
    for (size_t i = 0; i < n; i++) {
      cf32 &x = r[(head_ + i) % capacity_];
      if (cs16) {
        auto q = [](float v) {
          float s = std::nearbyint(v * 32767.0f);
          return (int16_t)std::max(-32768.0f, std::min(32767.0f, s));
        };
        ((int16_t *)dst)[2 * i] = q(x.real());
        ((int16_t *)dst)[2 * i + 1] = q(x.imag());
      } else {
        ((cf32 *)dst)[i] = x;
      }
      x = cf32();
    }
  }

  void place(size_t ch, bool cs16, const void *src, long long start, size_t n) {
    auto &r = ring_[ch];
    size_t off = (size_t)(start - read_ticks_);
    for (size_t i = 0; i < n; i++) {
      cf32 x = cs16 ? cf32(((const int16_t *)src)[2 * i] / 32767.0f,
                           ((const int16_t *)src)[2 * i + 1] / 32767.0f)
                    : ((const cf32 *)src)[i];
      r[(head_ + off + i) % capacity_] += x;
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  size_t nchan_, capacity_, mtu_;
  double rate_, master_ = 30.72e6;
  bool realtime_, has_time_, extref_;
  std::string serial_, clock_src_ = "internal", time_src_ = "internal";
  std::vector<std::vector<cf32>> ring_;
  size_t head_ = 0;
  long long read_ticks_ = 0;
  long long base_ticks_;
  Clock::time_point base_wall_;
  long long inject_drop_ = 0;
  long long overflow_every_ = 0, overflow_len_ = 1000, next_overflow_ = 0;
  // TX burst state (one TX stream at a time is the expected use).
  bool burst_open_ = false, burst_dropped_ = false, underflowed_ = false;
  long long tx_next_ = 0;
  std::deque<Status> status_;
  std::vector<double> rx_gain_, tx_gain_, rx_bw_, tx_bw_, rx_freq_, tx_freq_;
};

SoapySDR::KwargsList find_loopback(const SoapySDR::Kwargs &args) {
  auto d = args.find("driver");
  if (d != args.end() && d->second != kDriver)
    return {};
  SoapySDR::Kwargs out = args;
  out["driver"] = kDriver;
  out["label"] = "ranlab loopback " + arg(args, "serial", "0");
  return {out};
}

// Live devices by link name. SoapySDR counts references per device
// pointer, so handing out one device for several args is safe: it is
// deleted when the last handle is unmade.
std::mutex links_mu;
std::map<std::string, Loopback *> &links() {
  static std::map<std::string, Loopback *> m;
  return m;
}

class LinkedLoopback : public Loopback {
public:
  LinkedLoopback(const SoapySDR::Kwargs &args, std::string link)
      : Loopback(args), link_(std::move(link)) {}
  ~LinkedLoopback() override {
    std::lock_guard<std::mutex> g(links_mu);
    auto it = links().find(link_);
    if (it != links().end() && it->second == this)
      links().erase(it);
  }

private:
  std::string link_;
};

SoapySDR::Device *make_loopback(const SoapySDR::Kwargs &args) {
  std::string link = arg(args, "link", "");
  if (link.empty())
    return new Loopback(args);
  std::lock_guard<std::mutex> g(links_mu);
  auto it = links().find(link);
  if (it != links().end())
    return it->second;
  auto *d = new LinkedLoopback(args, link);
  links()[link] = d;
  return d;
}

SoapySDR::Registry registration(kDriver, &find_loopback, &make_loopback,
                                SOAPY_SDR_ABI_VERSION);

} // namespace
