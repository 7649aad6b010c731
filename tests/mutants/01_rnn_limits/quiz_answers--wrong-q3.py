# loses: test_q3
answer_q1 = "b"
answer_q2 = "c"
answer_q3 = 17
answer_q4 = 6
answer_q5 = "a"
