-- sum.lua - N + (N-1) + ... + 1, counting down; the size is arg[1]. The sum
-- and the counter are 64-bit integers (0LL): at N = 10^9 the sum is past
-- 2^53, where doubles round.
local function main(n)
  local sum, i = 0LL, n + 0LL
  while i ~= 0 do
    sum = sum + i
    i = i - 1
  end
  print((tostring(sum):gsub('LL$', '')))
end
main(tonumber(arg[1]))
