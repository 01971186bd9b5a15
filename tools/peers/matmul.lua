-- matmul.lua - C = A x B for N x N (arg[1]) matrices in one table of 3 N^2
-- cells (index + 1: Lua arrays start at 1); prints the sum of C and its trace.
local function main(n)
  local nn, m, sum, trace = n * n, {}, 0, 0
  for idx = 1, 3 * nn do m[idx] = 0 end
  for i = 0, n - 1 do
    for j = 0, n - 1 do
      m[i * n + j + 1] = (7 * i + 3 * j) % 11 - 5
      m[nn + i * n + j + 1] = (i * j + 1) % 13 - 6
    end
  end
  for i = 0, n - 1 do
    for j = 0, n - 1 do
      local acc = 0
      for k = 0, n - 1 do
        acc = acc + m[i * n + k + 1] * m[nn + k * n + j + 1]
      end
      m[2 * nn + i * n + j + 1] = acc
      sum = sum + acc
      if i == j then trace = trace + acc end
    end
  end
  print(string.format('%d\n%d', sum, trace))
end
main(tonumber(arg[1]))
