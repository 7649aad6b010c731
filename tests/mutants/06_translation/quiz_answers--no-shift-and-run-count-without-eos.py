# loses: test_q1, test_q2
answer_q1 = "c"
answer_q2 = 9
answer_q3 = "b"
answer_q4 = 4000
answer_q5 = "a"
answer_q6 = 2
answer_q7 = "a"
answer_q8 = "b"
