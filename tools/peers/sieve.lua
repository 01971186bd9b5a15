-- sieve.lua - the sieve of Eratosthenes below N (arg[1]); prints the number
-- of primes and the largest. The table is filled first (Lua has no calloc).
local function main(n)
  local cell, count, largest = {}, 0, 0
  for i = 1, n - 1 do cell[i] = 0 end
  for i = 2, n - 1 do
    if cell[i] == 0 then
      count, largest = count + 1, i
      for m = i * i, n - 1, i do cell[m] = 1 end
    end
  end
  print(string.format('%d\n%d', count, largest))
end
main(tonumber(arg[1]))
