-- One rate-limited event, atomically (Redis runs a script alone).
-- KEYS[1]  the counter: a hash {s = window start in Unix µs, n = events}
-- ARGV[1]  the caller's window start, Unix µs
-- ARGV[2]  the limit per window
-- ARGV[3]  the counter's time to live in ms when this call opens a window
-- Returns 1 when the event is counted, 0 when it is refused (and not
-- counted). A caller whose window is older than the stored one counts into
-- the stored one: a lagging clock never resets a newer window.
local cur = redis.call('HMGET', KEYS[1], 's', 'n')
local stored = tonumber(cur[1])
local start = tonumber(ARGV[1])
if stored == nil or start > stored then
  redis.call('HSET', KEYS[1], 's', ARGV[1], 'n', 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
if tonumber(cur[2]) < tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[1], 'n', 1)
  return 1
end
return 0
