import { defineLua, rawLua } from "@mirror/kit";
import { RINGS } from "./buckets.js";

/**
 * Lua run inside Redis, so that recording one result is one atomic round trip: a redelivered
 * result (same event id and time) is recognised there and counts once, and two replicas never
 * interleave a read-modify-write of one bucket.
 *
 * A ring slot's value: "index,n,up,down,degraded,timed,sum,min,max,h0..h15,maint" (n counts results
 * that were up, down or degraded outside maintenance; timed those with a latency; maint the results
 * inside a maintenance window, which count for response time but not for uptime). A slot holding
 * an older index is reset; one holding a newer index is left alone (a late result never overwrites
 * newer figures). A slot written before `maint` existed (25 fields) is read as maint 0.
 *
 * Incidents: a period in which the check is not up, moved only by the newest result (a late one
 * counts in its buckets alone), split where a maintenance window begins or ends; one inside a window (`m` 1) goes to its own set (maintenanceIncidents), so status pages, counts and
 * metrics never see it while the check's page can still list it.
 */
export const RECORD = defineLua("historyRecord", {
  keys: ["meta", "ids", "minuteRing", "hourRing", "dayRing", "incidents", "checks", "maintenanceIncidents"],
  args: [
    "resultId",
    "atArg",
    "stateArg",
    "latencyArg",
    "binArg",
    "reasonArg",
    "sinceArg",
    "minuteSlot",
    "minuteIndex",
    "hourSlot",
    "hourIndex",
    "daySlot",
    "dayIndex",
    "checkName",
    "keepSince",
    "maxIncidents",
    "kind",
    "ttlMs",
    "maintArg",
    "orderArg",
    "beatArg",
    "maxGapArg",
    "dayStartArg",
    "siteArg",
    "sitesArg",
    "quorumArg",
    "silentArg",
  ],
  body: `
local key = resultId
if redis.call('LPOS', ids, key) then return 0 end
redis.call('LPUSH', ids, key)
redis.call('LTRIM', ids, 0, 511)
local t, state, latency, bin, reason, since = tonumber(atArg), stateArg, tonumber(latencyArg), tonumber(binArg), reasonArg, tonumber(sinceArg)
local maint = maintArg == '1'
-- A check probed from several sites (sitesArg, comma-separated, '' for one site): this site's
-- latest state is kept in meta (field site:<name>) and the check's result is their quorum, as the loop-detector
-- decides it: down when down from at least quorumArg sites, degraded likewise (down counting as
-- degraded), else up when a site knows, else unknown. A site not heard for silentArg ms before this
-- result does not count, and the quorum is at most the sites still heard. The state's since: kept
-- while the aggregate holds; on a change, when the quorum-th bad site turned bad (or the latest
-- good site turned good).
if sitesArg ~= '' then
  local cur = redis.call('HGET', meta, 'site:' .. siteArg)
  local curAt = -1
  if cur then curAt = tonumber(string.match(cur, '^[^,]+,(%d+)')) or -1 end
  if t >= curAt then redis.call('HSET', meta, 'site:' .. siteArg, state .. ',' .. t .. ',' .. since) end
  local silent, total, stale = tonumber(silentArg), 0, 0
  local downS, badS, goodS = {}, {}, {}
  for s in string.gmatch(sitesArg, '[^,]+') do
    total = total + 1
    local v = redis.call('HGET', meta, 'site:' .. s)
    if v then
      local st, at, sn = string.match(v, '^([^,]+),(%d+),(%d+)')
      at, sn = tonumber(at), tonumber(sn)
      if silent > 0 and at < t - silent then
        stale = stale + 1
      elseif st == 'down' then
        downS[#downS + 1] = sn
        badS[#badS + 1] = sn
      elseif st == 'degraded' then
        badS[#badS + 1] = sn
      elseif st == 'up' then
        goodS[#goodS + 1] = sn
      end
    end
  end
  local q = math.max(1, math.min(tonumber(quorumArg), total - stale))
  local agg, aggSince = 'unknown', since
  if #downS >= q then
    table.sort(downS)
    agg, aggSince = 'down', downS[q]
  elseif #badS >= q then
    table.sort(badS)
    agg, aggSince = 'degraded', badS[q]
  elseif #downS + #badS + #goodS > 0 then
    agg = 'up'
    aggSince = 0
    for _, sn in ipairs(goodS) do if sn > aggSince then aggSince = sn end end
    for _, sn in ipairs(badS) do if sn > aggSince then aggSince = sn end end
  end
  if agg == redis.call('HGET', meta, 'state') then
    aggSince = tonumber(redis.call('HGET', meta, 'since') or aggSince)
  end
  state, since = agg, aggSince
end
-- c results in state st (latency lat, -1 for none, in bin b) into one ring slot.
local function bump(ring, slot, index, st, lat, b, c)
  local cur = redis.call('HGET', ring, slot)
  local f = {}
  if cur then for x in string.gmatch(cur, '[^,]+') do f[#f + 1] = tonumber(x) end end
  local valid = #f == 25 or #f == 26
  if valid and f[1] > index then return end
  if not valid or f[1] < index then
    f = {index, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
  end
  if #f == 25 then f[26] = 0 end
  if maint then
    if st ~= 'unknown' then f[26] = f[26] + c end
  else
    if st == 'up' then f[3] = f[3] + c elseif st == 'down' then f[4] = f[4] + c elseif st == 'degraded' then f[5] = f[5] + c end
    if st ~= 'unknown' then f[2] = f[2] + c end
  end
  if lat >= 0 then
    f[6] = f[6] + 1
    f[7] = f[7] + lat
    if f[8] < 0 or lat < f[8] then f[8] = lat end
    if lat > f[9] then f[9] = lat end
    f[10 + b] = f[10 + b] + 1
  end
  redis.call('HSET', ring, slot, table.concat(f, ','))
end
bump(minuteRing, minuteSlot, tonumber(minuteIndex), state, latency, bin, 1)
bump(hourRing, hourSlot, tonumber(hourIndex), state, latency, bin, 1)
bump(dayRing, daySlot, tonumber(dayIndex), state, latency, bin, 1)
local lastAt = tonumber(redis.call('HGET', meta, 'lastAt') or '0')
local open = redis.call('HGET', meta, 'open')
local start = since
if start > t then start = t end
local function close(o, stop)
  if stop < o.start then stop = o.start end
  o['end'] = stop
  o.durationMs = stop - o.start
  local set = incidents
  if o.m == 1 then set = maintenanceIncidents end
  redis.call('ZADD', set, o.start, cjson.encode(o))
  redis.call('ZREMRANGEBYSCORE', set, '-inf', '(' .. keepSince)
  redis.call('ZREMRANGEBYRANK', set, 0, -tonumber(maxIncidents) - 1)
  redis.call('HDEL', meta, 'open')
end
local m = 0
if maint then m = 1 end
-- Only the newest result moves the incident: one arriving late (redelivered after a restart,
-- behind newer ones: older both in the stream and in time) counts in its buckets but never
-- reopens or extends a period already decided. A producer clock jumping back is not late (its
-- stream order is newer); without a stream order (-1) every result counts as newest.
local order = tonumber(orderArg or '-1')
local lastSeq = tonumber(redis.call('HGET', meta, 'lastSeq') or '-1')
local newest = not (order >= 0 and order < lastSeq and t < lastAt)
-- The probe results the tracker did not publish between the newest result and this one (it
-- publishes on a change and as a keep-alive): one per interval, untimed, in the state they had.
local beat, maxGap = tonumber(beatArg or '0'), tonumber(maxGapArg or '0')
local prev = redis.call('HGET', meta, 'state')
if newest and beat > 0 and lastAt > 0 and t > lastAt and t - lastAt <= maxGap
  and (prev == 'up' or prev == 'down' or prev == 'degraded') then
  local k = math.floor((t - lastAt) / beat + 0.5) - 1
  local dayStart, today = tonumber(dayStartArg), tonumber(dayIndex)
  local acc = { {}, {}, {} }
  local function add(a, index, st)
    local e = a[index]
    if not e then e = {}; a[index] = e end
    e[st] = (e[st] or 0) + 1
  end
  for i = 1, k do
    local at = t - (k - i + 1) * beat
    local st = prev
    if at >= start then st = state end
    add(acc[1], math.floor(at / ${RINGS.minute.ms}), st)
    add(acc[2], math.floor(at / ${RINGS.hour.ms}), st)
    if at >= dayStart then add(acc[3], today, st) else add(acc[3], today - 1, st) end
  end
  local rings = { { minuteRing, ${RINGS.minute.slots} }, { hourRing, ${RINGS.hour.slots} }, { dayRing, ${RINGS.day.slots} } }
  for r = 1, 3 do
    for index, e in pairs(acc[r]) do
      for st, c in pairs(e) do bump(rings[r][1], index % rings[r][2], index, st, -1, 0, c) end
    end
  end
end
if newest and (state == 'down' or state == 'degraded') then
  local o
  local istart = start
  if open then
    o = cjson.decode(open)
    if (o.m or 0) ~= m then
      -- A window began or ended during the incident: that part ends here, the rest is a new one.
      close(o, t)
      o = nil
      istart = t
    else
      if state == 'down' then o.state = 'down' end
      if o.firstError == '' and reason ~= '' then o.firstError = reason end
    end
  end
  if not o then
    o = { start = istart, state = state, firstError = reason, loopId = redis.call('HGET', meta, 'loopId') or '', m = m }
  end
  redis.call('HSET', meta, 'open', cjson.encode(o))
elseif newest and state == 'up' and open then
  close(cjson.decode(open), start)
end
if t >= lastAt then
  redis.call('HSET', meta, 'state', state, 'since', start, 'lastAt', t, 'kind', kind, 'mt', m)
end
if order > lastSeq then redis.call('HSET', meta, 'lastSeq', order) end
for _, k in ipairs({meta, ids, minuteRing, hourRing, dayRing, incidents, maintenanceIncidents}) do redis.call('PEXPIRE', k, ttlMs) end
redis.call('SADD', checks, checkName)
return 1
`,
});

/**
 * Sums the uptime counts of the given slots of one ring: ARGV pairs (slot, index). Only the
 * first five numbers of a slot are read, so a year of 1,000 checks sums inside Redis.
 * Returns {n, up, down, degraded}.
 */
export const SUM = rawLua(
  "historySum",
  `
local ring = KEYS[1]
local n, up, down, deg = 0, 0, 0, 0
local fields = {}
for i = 1, #ARGV, 2 do fields[#fields + 1] = ARGV[i] end
local vals = redis.call('HMGET', ring, unpack(fields))
for i = 1, #vals do
  local v = vals[i]
  if v then
    local idx, a, b, c, d = string.match(v, '^(%d+),(%d+),(%d+),(%d+),(%d+)')
    if idx and tonumber(idx) == tonumber(ARGV[i * 2]) then
      n = n + tonumber(a); up = up + tonumber(b); down = down + tonumber(c); deg = deg + tonumber(d)
    end
  end
end
return {n, up, down, deg}
`,
);

/**
 * Applies one loop event to the trend, once per revision: keys the loop's record, the open set,
 * today's trend hash, the loop record prefix and the repo's signal hash; times in ms (closedAt -1
 * while open), isRepo '1' for a repo loop, keepSince the start of the kept window.
 * Counts opened/closed/ack/close per kind and rewrites today's open-by-kind-and-severity; for a
 * repo loop, keeps the periods its kind (signal) was true: `{ s: [[start, end]...], o: openSince | -1 }`.
 */
export const LOOP = defineLua("historyLoop", {
  keys: ["rec", "openSet", "day", "loopPrefix", "repoSignals"],
  args: [
    "id",
    "revArg",
    "kind",
    "sev",
    "status",
    "openedAtArg",
    "atArg",
    "closedAtArg",
    "dayTtlMs",
    "closedTtlMs",
    "isRepo",
    "keepSince",
  ],
  body: `
local rev = tonumber(revArg)
local openedAt, at, closedAt = tonumber(openedAtArg), tonumber(atArg), tonumber(closedAtArg)
local prev = redis.call('GET', rec)
local p = nil
if prev then p = cjson.decode(prev) end
if p and p.rev >= rev then return 0 end
local wasOpen = p ~= nil and p.status ~= 'closed'
local acked = p ~= nil and p.acked == 1
-- Open loops by kind|severity, kept by increments (O(1) per event, not a walk over every open loop).
-- A store from before the counts existed gets them once from the open set.
local cnt = openSet .. ':counts'
if redis.call('EXISTS', cnt) == 0 then
  redis.call('HSET', cnt, '_init', 1)
  for _, oid in ipairs(redis.call('SMEMBERS', openSet)) do
    local r = redis.call('GET', loopPrefix .. oid)
    if r then
      local o = cjson.decode(r)
      if o.status ~= 'closed' then redis.call('HINCRBY', cnt, o.kind .. '|' .. o.sev, 1) end
    end
  end
end
if wasOpen then redis.call('HINCRBY', cnt, p.kind .. '|' .. p.sev, -1) end
if status ~= 'closed' then redis.call('HINCRBY', cnt, kind .. '|' .. sev, 1) end
if status ~= 'closed' and not wasOpen then redis.call('HINCRBY', day, 'opened:' .. kind, 1) end
if status == 'acknowledged' and not acked then
  redis.call('HINCRBY', day, 'ackN:' .. kind, 1)
  redis.call('HINCRBY', day, 'ackMs:' .. kind, math.max(0, at - openedAt))
  acked = true
end
if status == 'closed' and (wasOpen or p == nil) then
  local stop = closedAt
  if stop < 0 then stop = at end
  redis.call('HINCRBY', day, 'closed:' .. kind, 1)
  redis.call('HINCRBY', day, 'closeMs:' .. kind, math.max(0, stop - openedAt))
  redis.call('HINCRBY', day, 'closeN:' .. kind, 1)
end
local a = 0
if acked and status ~= 'closed' then a = 1 end
redis.call('SET', rec, cjson.encode({ rev = rev, status = status, kind = kind, sev = sev, acked = a }))
if status == 'closed' then
  redis.call('SREM', openSet, id)
  redis.call('PEXPIRE', rec, closedTtlMs)
else
  redis.call('SADD', openSet, id)
  redis.call('PERSIST', rec)
end
for _, f in ipairs(redis.call('HKEYS', day)) do
  if string.sub(f, 1, 5) == 'open:' then redis.call('HDEL', day, f) end
end
redis.call('HSET', day, 'snapshot', 1)
local all = redis.call('HGETALL', cnt)
for i = 1, #all, 2 do
  local c = tonumber(all[i + 1])
  if string.sub(all[i], 1, 1) ~= '_' and c > 0 then redis.call('HSET', day, 'open:' .. all[i], c) end
end
redis.call('PEXPIRE', day, dayTtlMs)
if isRepo == '1' then
  local cur = redis.call('HGET', repoSignals, kind)
  local r = { s = {}, o = -1 }
  if cur then r = cjson.decode(cur) end
  local spans = {}
  for _, sp in ipairs(r.s or {}) do
    if sp[2] >= tonumber(keepSince) then spans[#spans + 1] = sp end
  end
  if status ~= 'closed' then
    if r.o < 0 then r.o = math.min(openedAt, at) end
  elseif r.o >= 0 then
    local stop = closedAt
    if stop < 0 then stop = at end
    if stop < r.o then stop = r.o end
    spans[#spans + 1] = { r.o, stop }
    r.o = -1
  end
  while #spans > 200 do table.remove(spans, 1) end
  r.s = spans
  redis.call('HSET', repoSignals, kind, cjson.encode(r))
  redis.call('PEXPIRE', repoSignals, dayTtlMs)
end
return 1
`,
});

/** SUM over several rings at once (KEYS), the same slots of each: returns {n, up} per key, flattened. */
export const SUM_MANY = rawLua(
  "historySumMany",
  `
local fields = {}
for i = 1, #ARGV, 2 do fields[#fields + 1] = ARGV[i] end
local out = {}
for k = 1, #KEYS do
  local n, up = 0, 0
  local vals = redis.call('HMGET', KEYS[k], unpack(fields))
  for i = 1, #vals do
    local v = vals[i]
    if v then
      local idx, a, b = string.match(v, '^(%d+),(%d+),(%d+)')
      if idx and tonumber(idx) == tonumber(ARGV[i * 2]) then n = n + tonumber(a); up = up + tonumber(b) end
    end
  end
  out[#out + 1] = n
  out[#out + 1] = up
end
return out
`,
);
