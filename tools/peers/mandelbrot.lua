-- mandelbrot.lua - 160 x 60 points, 12-bit fixed point, at most MAXIT
-- (arg[1]) iterations each; prints the total. LuaJIT numbers are doubles:
-- every value here is an integer below 2^53, and x >> k is floor(x / 2^k).
local floor = math.floor
local function main(maxit)
  local total = 0
  for row = 0, 59 do
    local ci = row * 164 - 4756
    for col = 0, 159 do
      local cr, zr, zi, it = col * 77 - 8602, 0, 0, 0
      while true do
        local zr2, zi2 = floor(zr * zr / 4096), floor(zi * zi / 4096)
        if zr2 + zi2 > 16384 then break end
        zi = floor(zr * zi / 2048) + ci
        zr = zr2 - zi2 + cr
        it = it + 1
        if it >= maxit then break end
      end
      total = total + it
    end
  end
  print(string.format('%d', total))
end
main(tonumber(arg[1]))
