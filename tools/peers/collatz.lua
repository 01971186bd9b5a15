-- collatz.lua - the start below LIMIT (arg[1]) with the longest Collatz
-- chain, with % 2 and / 2; prints the start and its number of steps.
local function steps(n)
  local count = 0
  while n ~= 1 do
    if n % 2 == 0 then n = n / 2 else n = 3 * n + 1 end
    count = count + 1
  end
  return count
end

local function main(limit)
  local best, best_steps = 0, 0
  for start = 1, limit - 1 do
    local s = steps(start)
    if s > best_steps then best, best_steps = start, s end
  end
  print(string.format('%d\n%d', best, best_steps))
end
main(tonumber(arg[1]))
